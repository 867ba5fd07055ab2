/**
 * The Unseal page in a real Chromium (issue 15): a Shamir node starts sealed; custodians enter their
 * shares one at a time from the page and watch the progress until the node serves keys again. A wrong
 * share is refused with the server's line and changes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { assertAccessible, loginWithToken, openConsole, openPage, screenshot, type ConsoleBrowser } from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { adminOk, encryptBody, xks } from '../helpers/xks-client.js';

describe('unseal page in Chromium', { timeout: 90_000 }, () => {
  let node: TestNode;
  let ui: ConsoleBrowser;

  before(async () => {
    node = await startTestNode({ shamir: { shares: 3, threshold: 2 } });
    ui = await openConsole(node);
  });

  after(async () => {
    await ui.close();
    await node.close();
  });

  test('a sealed node is unsealed from the page, share by share', async () => {
    const { page } = ui;
    const shares = node.shares!;
    assert.equal(shares.length, 3);
    // While sealed the data plane refuses key operations.
    assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(32)) })).status, 500);

    await page.goto('/console/#/unseal');
    await loginWithToken(page, node.adminToken);
    await openPage(page, 'Unseal');
    await page.getByRole('heading', { name: 'SEALED' }).waitFor();
    await page.getByText('Shares entered: 0 of 2 needed').waitFor();
    await assertAccessible(page, 'unseal (sealed)');

    // A share that is not one of this node's: refused, nothing counted.
    await page.getByLabel('Your share').fill('not-a-share');
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByRole('alert').first().waitFor();
    await page.getByText('Shares entered: 0 of 2 needed').waitFor();

    await page.getByLabel('Your share').fill(shares[0]!);
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByText('Shares entered: 1 of 2 needed').waitFor();
    assert.equal(await page.getByLabel('Your share').inputValue(), '', 'the share is not kept in the form');
    await screenshot(page, 'unseal');

    await page.getByLabel('Your share').fill(shares[2]!);
    await page.getByRole('button', { name: 'Enter share' }).click();
    await page.getByRole('heading', { name: 'Unsealed' }).waitFor();
    const status = await adminOk<{ sealed: boolean }>(node, 'GET', '/unseal');
    assert.equal(status.sealed, false);
    assert.equal((await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(32)) })).status, 200);
    assert.deepEqual(ui.problems, []);
  });
});
