/**
 * The web console in a real Chromium against a real node (issue 15): headers, login, keystores and the
 * KMS JSON, keys and an XKS Encrypt refused once the key is disabled from the page, the policy editor's
 * errors at their field and the simulator, a two-user approval, audit search and verify, a monitor who
 * can change nothing, a 401 that keeps a form's content, keyboard-only use, and axe-core on every page.
 * Any console error or unhandled rejection fails the run. Screenshots go to docs/console/.
 */
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  assertAccessible,
  inPage,
  loginWithPassword,
  logout,
  openConsole,
  openPage,
  screenshot,
  type ConsoleBrowser,
} from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { createUsers, requireTwoApprovers, type ActAs } from '../helpers/users.js';
import { admin, adminOk, encryptBody, xks } from '../helpers/xks-client.js';

const password = (name: string) => `${name} password 123`;

describe('web console in Chromium', { timeout: 120_000 }, () => {
  let node: TestNode;
  let as: ActAs;
  let ui: ConsoleBrowser;
  let page: Page;

  before(async () => {
    node = await startTestNode();
    as = await createUsers(node, [
      ['root', ['administrator']],
      ['ann', ['approver']],
      ['ben', ['approver']],
      ['audra', ['auditor']],
      ['mon', ['monitor']],
    ]);
    ui = await openConsole(node);
    page = ui.page;
  });

  after(async () => {
    await ui.close();
    await node.close();
  });

  test('the console is served with its security headers and caching; /console redirects', async () => {
    const index = await ui.context.request.get('/console/');
    assert.equal(index.status(), 200);
    const headers = index.headers();
    assert.match(headers['content-security-policy'] ?? '', /default-src 'self'; script-src 'self'; style-src 'self'/);
    assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-frame-options'], 'DENY');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    assert.equal(headers['cache-control'], 'no-cache');
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|style=/, 'no inline style');
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, html);
    const script = await ui.context.request.get(asset);
    assert.equal(script.status(), 200);
    assert.equal(script.headers()['cache-control'], 'public, max-age=31536000, immutable');
    assert.match(script.headers()['content-type'] ?? '', /javascript/);
    const redirect = await ui.context.request.get('/console', { maxRedirects: 0 });
    assert.equal(redirect.status(), 301);
    assert.equal(redirect.headers().location, '/console/');
    const missing = await ui.context.request.get('/console/../../etc/passwd');
    assert.notEqual(missing.status(), 200);
    const unknown = await ui.context.request.get('/console/assets/nope.js');
    assert.equal(unknown.status(), 404);
  });

  test('log in with a password; the token stays in sessionStorage, never a cookie', async () => {
    await page.goto('/console/');
    await screenshot(page, 'login');
    await assertAccessible(page, 'login');
    // A wrong password shows the server's one line and keeps the dialog.
    const dialog = page.getByRole('dialog', { name: 'Keyhold console' });
    await dialog.getByLabel('User').fill('root');
    await dialog.getByLabel('Password', { exact: true }).fill('wrong password');
    await dialog.getByRole('button', { name: 'Log in' }).click();
    await dialog.getByRole('alert').waitFor();
    await loginWithPassword(page, 'root', password('root'));
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.deepEqual(await ui.context.cookies(), []);
    const stored = await inPage<string | null>(page, "sessionStorage.getItem('keyhold.token')");
    assert.match(stored ?? '', /^kh_/);
  });

  test('overview: node status, unsealed, the fleet, and live charts from /metrics', async () => {
    await page.getByText('Key manager health').waitFor();
    await page.getByText('unsealed', { exact: true }).waitFor();
    // The fleet card (GET /api/v1/fleet): this node, live, marked as the one answering.
    const fleet = page.getByRole('table', { name: /1 live, 0 gone/ });
    await fleet.getByRole('cell', { name: /\(this node\)/ }).waitFor();
    assert.equal(await fleet.getByText('live', { exact: true }).count(), 1);
    // One XKS request so the charts have something to draw on the next scrape.
    await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(32)) });
    await page.locator('.uplot').first().waitFor();
    assert.equal(await page.locator('.uplot').count(), 4);
    await page.getByText(/Audit queue: \d+/).waitFor();
    // Rates need two scrapes (3 s apart) after the request.
    await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(32)) });
    await page.waitForTimeout(6500);
    await screenshot(page, 'overview');
    await assertAccessible(page, 'overview');
  });

  let credential: { accessKeyId: string; secret: string; uriPath: string };

  test('keystores: create one (secret shown once), then download its KMS console JSON', async () => {
    await openPage(page, 'Keystores');
    const create = page.getByRole('region', { name: 'Create a keystore' });
    // Bad input: the server's error at its field.
    await create.getByLabel('Name').fill('web');
    await create.getByLabel('Path prefix').fill('/api');
    await create.getByRole('button', { name: 'Create keystore' }).click();
    await create.getByRole('alert').filter({ hasText: 'reserved' }).waitFor();
    assert.equal(await create.getByLabel('Path prefix').getAttribute('aria-invalid'), 'true', 'the error is at the prefix field');
    await create.getByLabel('Path prefix').fill('/web');
    await create.getByRole('button', { name: 'Create keystore' }).click();
    await create.getByText('Keystore web created').waitFor();
    const shownSecret = await create.locator('[data-secret]').textContent();
    assert.ok(shownSecret && shownSecret.length >= 20);
    await page.getByRole('button', { name: 'web', exact: true }).click();
    const detail = page.getByRole('region', { name: 'Keystore web' });
    await detail.waitFor();
    await screenshot(page, 'keystores');
    await assertAccessible(page, 'keystores');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      detail.getByRole('button', { name: 'Download KMS console JSON' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'web-kms-xks-proxy.json');
    const file = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
      XksProxyUriPath: string;
      XksProxyAuthenticationCredential: { AccessKeyId: string; RawSecretAccessKey: string };
    };
    assert.equal(file.XksProxyUriPath, '/web/kms/xks/v1');
    assert.equal(file.XksProxyAuthenticationCredential.RawSecretAccessKey, shownSecret);
    credential = {
      accessKeyId: file.XksProxyAuthenticationCredential.AccessKeyId,
      secret: file.XksProxyAuthenticationCredential.RawSecretAccessKey,
      uriPath: file.XksProxyUriPath,
    };
  });

  test('keys: create one, encrypt with the downloaded credential, disable it → XKS answers InvalidStateException', async () => {
    await openPage(page, 'Keys');
    const create = page.getByRole('region', { name: 'Create a key' });
    await create.getByLabel('Key id').fill('web-key-1');
    await create.getByLabel('Keystore').fill('web');
    await create.getByLabel('Description (optional)').fill('made in the browser');
    await create.getByRole('button', { name: 'Create key' }).click();
    await create.getByText('Key web-key-1 created').waitFor();

    const { region } = await adminOk<{ region: string }>(node, 'GET', '/keystores/web');
    const encrypt = () =>
      xks(node, {
        path: `${credential.uriPath}/keys/web-key-1/encrypt`,
        credential,
        region,
        body: encryptBody(randomBytes(32)),
      });
    assert.equal((await encrypt()).status, 200);

    await page.getByLabel('Search (id or description)').fill('web-key');
    await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: 'web-key-1', exact: true }).click();
    const detail = page.getByRole('region', { name: 'Key web-key-1' });
    await detail.getByRole('button', { name: 'Disable', exact: true }).click();
    await detail.getByText('Disabled.').waitFor();
    await page.getByRole('cell', { name: 'DISABLED' }).waitFor();
    await screenshot(page, 'keys');
    await assertAccessible(page, 'keys');

    const refused = await encrypt();
    assert.equal(refused.status, 400, refused.text);
    assert.equal((refused.json as { errorName: string }).errorName, 'InvalidStateException');
  });

  test('bring your own key: download a wrapping key, upload the wrapped key, encrypt under it', async () => {
    await openPage(page, 'Keys');
    const byok = page.getByRole('region', { name: 'Bring your own key' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      byok.getByRole('button', { name: 'Download a wrapping key' }).click(),
    ]);
    const pem = readFileSync(await download.path(), 'utf8');
    assert.match(pem, /BEGIN PUBLIC KEY/);
    const wrapped = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
    await byok.getByLabel('Key id', { exact: true }).fill('byok-1');
    await byok.getByLabel('Keystore').fill('web');
    assert.notEqual(await byok.getByLabel('Wrapping key id').inputValue(), '', 'filled in from the download');
    await byok.getByLabel('Wrapped key file').setInputFiles({ name: 'wrapped.bin', mimeType: 'application/octet-stream', buffer: wrapped });
    await byok.getByRole('button', { name: 'Import' }).click();
    await byok.getByText('Key byok-1 imported.').waitFor();
    await assertAccessible(page, 'keys with the import section');
    const versions = await adminOk<{ origin: string }[]>(node, 'GET', '/keys/byok-1/versions?keystore=web');
    assert.deepEqual(
      versions.map((v) => v.origin),
      ['IMPORTED'],
    );
    const { region } = await adminOk<{ region: string }>(node, 'GET', '/keystores/web');
    const encrypted = await xks(node, {
      path: `${credential.uriPath}/keys/byok-1/encrypt`,
      credential,
      region,
      body: encryptBody(randomBytes(32)),
    });
    assert.equal(encrypted.status, 200, encrypted.text);
    // The wrapping key was for one import: a second upload with it is refused, at the page.
    await byok.getByLabel('Key id', { exact: true }).fill('byok-2');
    await byok.getByRole('button', { name: 'Import' }).click();
    await byok.getByRole('alert').first().waitFor();
    assert.equal((await admin(node, 'GET', '/keys/byok-2?keystore=web')).status, 404);
  });

  test('policies: a mistake is shown at its field, then the fixed policy is simulated', async () => {
    await openPage(page, 'Policies');
    const editor = page.getByLabel('Policy document (JSON)');
    const document = (effect: string) =>
      JSON.stringify(
        {
          name: 'web-only-kms',
          attach: { keystore: 'web' },
          rules: [
            { id: 'deny-strangers', effect, unless: { principal: ['arn:aws:iam::111122223333:role/tester'] } },
            { id: 'allow-tester', effect: 'allow', principal: ['arn:aws:iam::111122223333:role/tester'] },
          ],
        },
        null,
        2,
      );
    await editor.fill(document('alow'));
    await page.getByRole('button', { name: 'Create policy' }).click();
    const problem = page.locator('#policy-problem');
    await problem.waitFor();
    assert.equal(await problem.getAttribute('data-field'), 'rules[0].effect');
    const line =
      document('alow')
        .split('\n')
        .findIndex((text) => text.includes('"alow"')) + 1;
    assert.equal((await problem.textContent()) ?? '', `At rules[0].effect (line ${line}): rules[0].effect must be one of allow, deny`);
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'policies-error');
    await assertAccessible(page, 'policies with an error');

    await editor.fill(document('deny'));
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByText('Policy saved.').waitFor();
    await page.getByRole('button', { name: 'web-only-kms', exact: true }).waitFor();

    const simulator = page.getByRole('region', { name: 'Simulator' });
    await simulator.getByLabel('Keystore').fill('web');
    await simulator.getByLabel('Key id').fill('web-key-1');
    await simulator.getByLabel('Principal ARN').fill('arn:aws:iam::999999999999:role/stranger');
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    const answer = simulator.locator('[data-simulation]');
    await answer.waitFor();
    assert.match((await answer.textContent()) ?? '', /Denied by web-only-kms\/deny-strangers/);
    await simulator.getByLabel('Principal ARN').fill('arn:aws:iam::111122223333:role/tester');
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    await simulator.locator('[data-simulation]', { hasText: /Allowed by web-only-kms\/allow-tester/ }).waitFor();
    await screenshot(page, 'policies');
    await assertAccessible(page, 'policies');
  });

  test('a 401 brings back the login dialog and keeps what was typed in the form', async () => {
    await openPage(page, 'Keys');
    const create = page.getByRole('region', { name: 'Create a key' });
    await create.getByLabel('Key id').fill('typed-before-expiry');
    await create.getByLabel('Keystore').fill('web');
    // The session's token stops being valid (as when it expires or is revoked).
    await inPage(page, "sessionStorage.setItem('keyhold.token', 'kh_not_a_valid_token')");
    await create.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('dialog', { name: 'Keyhold console' }).getByText('Your session ended').waitFor();
    await loginWithPassword(page, 'root', password('root'));
    assert.equal(await create.getByLabel('Key id').inputValue(), 'typed-before-expiry');
    await create.getByRole('button', { name: 'Create key' }).click();
    await create.getByText('Key typed-before-expiry created').waitFor();
  });

  test('a two-user approval: root asks, ann and ben approve from their inbox with a comment', async () => {
    await requireTwoApprovers(as, 'root', ['key.disable']);
    await openPage(page, 'Keys');
    await page.getByLabel('Search (id or description)').fill(node.keyId);
    await page.getByRole('search').getByRole('button', { name: 'Search' }).click();
    await page.getByRole('button', { name: node.keyId, exact: true }).click();
    const detail = page.getByRole('region', { name: `Key ${node.keyId}` });
    await detail.getByRole('button', { name: 'Disable', exact: true }).click();
    await detail.getByText(/Waiting for approval/).waitFor();
    await openPage(page, 'Approvals');
    await page.getByRole('table', { name: /Mine, waiting for others \(1\)/ }).waitFor();
    await logout(page);

    for (const [who, expected] of [
      ['ann', 'pending'],
      ['ben', 'done'],
    ] as const) {
      await loginWithPassword(page, who, password(who));
      await openPage(page, 'Approvals');
      const inbox = page.getByRole('table', { name: /Waiting for me \(1\)/ });
      await inbox.waitFor();
      await inbox.getByLabel('Comment').fill(`${who} checked the change ticket`);
      if (who === 'ann') await screenshot(page, 'approvals');
      if (who === 'ann') await assertAccessible(page, 'approvals');
      await inbox.getByRole('button', { name: 'Approve' }).click();
      await page.getByText(`Approved; the request is now ${expected}.`).waitFor();
      await logout(page);
    }
    const key = await adminOk<{ status: string }>(node, 'GET', `/keys/${node.keyId}`);
    assert.equal(key.status, 'DISABLED');
  });

  test('audit: search by key, see an event, verify the chains (as an auditor)', async () => {
    await loginWithPassword(page, 'audra', password('audra'));
    await openPage(page, 'Audit');
    await page.getByLabel('Key id').fill('web-key-1');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('table', { name: 'Audit events' }).waitFor();
    const rows = page.getByRole('table', { name: 'Audit events' }).locator('tbody tr');
    assert.ok((await rows.count()) >= 2, 'the Encrypts and the admin actions on web-key-1');
    await rows.first().getByRole('button').click();
    await page
      .getByRole('region', { name: /^Event / })
      .getByText('web-key-1')
      .first()
      .waitFor();
    await page.getByRole('button', { name: 'Verify the chains' }).click();
    const verdict = page.locator('[data-verify]');
    await verdict.waitFor();
    assert.equal(await verdict.getAttribute('data-verify'), 'ok');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON lines' }).click()]);
    const lines = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\n');
    assert.ok(lines.length >= 2);
    for (const line of lines) assert.equal((JSON.parse(line) as { keyId?: string }).keyId, 'web-key-1');
    await screenshot(page, 'audit');
    await assertAccessible(page, 'audit');
    await logout(page);
  });

  test('users and tokens: create a token, shown once', async () => {
    await loginWithPassword(page, 'root', password('root'));
    await openPage(page, 'Users & tokens');
    await page.getByRole('table', { name: 'Users' }).getByRole('cell', { name: 'audra', exact: true }).waitFor();
    const form = page.locator('form', { has: page.getByRole('heading', { name: 'Create a token' }) });
    await form.getByLabel('Token name').fill('ci-scraper');
    await form.getByLabel('Service token role').fill('monitor');
    await form.getByRole('button', { name: 'Create token' }).click();
    const token = await form.locator('[data-secret]').textContent();
    assert.match(token ?? '', /^kh_/);
    await page.getByRole('button', { name: 'Revoke ci-scraper' }).waitFor();
    await screenshot(page, 'users');
    await assertAccessible(page, 'users');
    await openPage(page, 'Unseal');
    await page.getByRole('heading', { name: 'Unsealed' }).waitFor();
    await assertAccessible(page, 'unseal (unsealed)');
    await logout(page);
  });

  test('a monitor can read the charts but change nothing', async () => {
    await loginWithPassword(page, 'mon', password('mon'));
    await openPage(page, 'Overview');
    await page.locator('.uplot').first().waitFor();
    const whoami = await as('mon', 'GET', '/auth/whoami');
    await openPage(page, 'Keys');
    const createButton = page.getByRole('region', { name: 'Create a key' }).getByRole('button', { name: 'Create key' });
    if (whoami.status === 200) {
      // The node reports permissions: what the role cannot do is disabled, with the reason beside it.
      assert.equal(await createButton.isDisabled(), true);
      await page.getByText('Needs the keys:create permission').first().waitFor();
      await openPage(page, 'Overview');
      assert.equal(await page.getByRole('button', { name: 'Engage the kill switch' }).isDisabled(), true);
    } else {
      // An older node without whoami: the server refuses and the page says why.
      await page
        .getByRole('alert')
        .filter({ hasText: /permission|not allowed|forbidden/i })
        .first()
        .waitFor();
      await page.getByRole('region', { name: 'Create a key' }).getByLabel('Key id').fill('monitor-key');
      await page.getByRole('region', { name: 'Create a key' }).getByLabel('Keystore').fill('web');
      await createButton.click();
      await page.getByRole('region', { name: 'Create a key' }).getByRole('alert').waitFor();
    }
    await screenshot(page, 'monitor');
    await assertAccessible(page, 'monitor');
    const keys = await admin(node, 'GET', '/keys');
    assert.ok(!JSON.stringify(keys.json).includes('monitor-key'), 'the monitor created nothing');
    await logout(page);
  });

  test('keyboard only: log in, reach Keystores, create a keystore', async () => {
    const keyboard = page.keyboard;
    await page.goto('/console/');
    await inPage(page, 'sessionStorage.clear()');
    await page.reload();
    await page.getByRole('dialog', { name: 'Keyhold console' }).waitFor();
    // The dialog focuses its first field.
    await keyboard.type('root');
    await keyboard.press('Tab');
    await keyboard.type(password('root'));
    await keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    // Tab through the header to the Keystores link.
    for (let i = 0; i < 20; i++) {
      await keyboard.press('Tab');
      const focused = await inPage<string>(page, "document.activeElement?.textContent ?? ''");
      if (focused === 'Keystores') break;
    }
    await keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Keystores' }).waitFor();
    await page.getByRole('region', { name: 'Create a keystore' }).getByLabel('Name').focus();
    await keyboard.type('typed');
    await keyboard.press('Tab');
    await keyboard.type('/typed');
    await keyboard.press('Enter');
    await page.getByText('Keystore typed created').waitFor();
    await adminOk(node, 'GET', '/keystores/typed');
  });

  test('no console error or unhandled rejection during the whole run', () => {
    assert.deepEqual(ui.problems, []);
  });
});
