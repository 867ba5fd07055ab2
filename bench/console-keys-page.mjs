/**
 * The web console's Keys page at many keys (docs/console.md#figures): seeds a fresh data directory with
 * --keys N keys (seed-keys.mjs), starts a node on it, opens the console in Debian's Chromium logged in
 * with the admin token, and times how long the Keys page takes to show its first page of rows, from the
 * navigation to the first row on screen. Also times the API call the page makes. Loopback only; stops by itself.
 *
 *   npm run build && node bench/console-keys-page.mjs --keys 100000 [--runs 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { systemClock } from '../dist/core/clock.js';
import { dataDirPaths } from '../dist/core/data-dir.js';
import { initDataDir } from '../dist/server/init.js';
import { startNode } from '../dist/server/node.js';
import { seedKeys } from './seed-keys.mjs';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } });
const keyCount = Number(values.keys);
const runs = Number(values.runs);
const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-console-bench-'));
const ms = (start) => Math.round(performance.now() - start);

try {
  let started = performance.now();
  const init = await initDataDir({ dataDir, demo: true, clock: systemClock });
  await seedKeys({ paths: dataDirPaths(dataDir), keystoreName: init.demo.keystore.name, count: keyCount, clock: systemClock });
  console.log(`seeded ${keyCount} keys in ${ms(started)} ms`);
  started = performance.now();
  const node = await startNode({ dataDir, host: '127.0.0.1', port: 0, clock: systemClock, logger: pino({ level: 'warn' }) });
  console.log(`node started in ${ms(started)} ms on ${node.url}`);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: node.url });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await page.goto('/console/');
    await page.evaluate(`sessionStorage.setItem('keyhold.token', ${JSON.stringify(init.adminToken)})`);
    await page.reload();
    const api = [];
    const pageTimes = [];
    for (let run = 0; run < runs; run++) {
      started = performance.now();
      const answer = await context.request.get('/api/v1/keys?limit=50', { headers: { authorization: `Bearer ${init.adminToken}` } });
      const body = await answer.body();
      api.push({ ms: ms(started), bytes: body.length, paged: !(await answer.json()).length });
      await page.goto('/console/#/overview');
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      started = performance.now();
      await page.getByRole('link', { name: 'Keys', exact: true }).click();
      await page.locator('table tbody tr').first().waitFor();
      pageTimes.push(ms(started));
    }
    const rows = await page.locator('table tbody tr').count();
    console.log(JSON.stringify({ keys: keyCount, rowsShown: rows, keysPageFirstRowsMs: pageTimes, api }, null, 2));
  } finally {
    await browser.close();
    await node.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
