/**
 * A real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) for the web console's tests:
 * every console error and unhandled rejection of the page is collected so a test can fail on it, axe-core
 * checks a page's accessibility, and screenshots go to docs/console/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestNode } from './node-harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'docs', 'console');
const BUILT = join(import.meta.dirname, '..', '..', 'console', 'dist', 'index.html');

/** Builds the console once when `npm install` has not (the node serves console/dist). */
export function ensureConsoleBuilt(): void {
  if (existsSync(BUILT)) return;
  const built = spawnSync('npm', ['run', 'build:console'], { stdio: 'inherit' });
  assert.equal(built.status, 0, 'npm run build:console failed');
}

export interface ConsoleBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and page errors seen so far (network refusals of /api and /metrics are the UI's business). */
  problems: string[];
  close(): Promise<void>;
}

export async function openConsole(node: TestNode): Promise<ConsoleBrowser> {
  ensureConsoleBuilt();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  // The node's certificate is its own self-signed one for localhost.
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: node.url, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const url = message.location().url;
    // Chromium logs every non-2xx fetch as "Failed to load resource"; the console shows the server's
    // refusals (400, 403, 401) to the user on purpose, so those of the API are expected, nothing else.
    if (message.text().startsWith('Failed to load resource') && /\/(api\/v1\/|metrics)/.test(url)) return;
    problems.push(`console.error: ${message.text()} (${url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.addInitScript({
    content: "addEventListener('unhandledrejection', (event) => console.error('unhandled rejection: ' + String(event.reason)));",
  });
  return {
    browser,
    context,
    page,
    problems,
    async close() {
      await context.close();
      await browser.close();
    },
  };
}

/**
 * Evaluates a JavaScript expression in the page (a string: the tests are typed for Node, without the DOM's
 * types); the value it gives, or the promise's, as `T`.
 */
export async function inPage<T = unknown>(page: Page, expression: string): Promise<T> {
  const value: unknown = await page.evaluate(expression);
  return value as T;
}

/** Runs axe-core on the page; fails on any serious or critical violation. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (the page itself runs no inline script).
  await page.evaluate(axe.source);
  const results = await inPage<{ id: string; impact?: string; help: string; targets: string[] }[]>(
    page,
    `axe.run(document, { resultTypes: ['violations'] }).then((found) =>
      found.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })))`,
  );
  const serious = results.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${where}: accessibility violations ${JSON.stringify(serious, null, 2)}`);
}

/** Saves a screenshot of the page as docs/console/<name>.png (shown in the README). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** Logs in with a user's name and password (from the login dialog). */
export async function loginWithPassword(page: Page, user: string, password: string): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Keyhold console' });
  await dialog.getByRole('button', { name: 'Password' }).click();
  await dialog.getByLabel('User').fill(user);
  await dialog.getByLabel('Password', { exact: true }).fill(password);
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await dialog.waitFor({ state: 'detached' });
}

/** Logs in by pasting an API token. */
export async function loginWithToken(page: Page, token: string): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Keyhold console' });
  await dialog.getByRole('button', { name: 'API token' }).click();
  await dialog.getByLabel('API token').fill(token);
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await dialog.waitFor({ state: 'detached' });
}

export async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('dialog', { name: 'Keyhold console' }).waitFor();
}

/** Opens a page of the console from its navigation. */
export async function openPage(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: title, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}
