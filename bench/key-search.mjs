/**
 * How fast GET /api/v1/keys answers at 100,000 keys (the web console's keys page, issue 15): a node on
 * the COMPILED build over a SQLite data directory seeded with real keys (seed-keys.mjs; 1 key in 100 has
 * a description and a tag to find), called over HTTPS on 127.0.0.1 like the console would. Each query
 * is timed `--runs` times after one untimed warm-up call; the median and the slowest are printed, in ms.
 * Measured, never asserted (COMMON rules): the figures go to docs/access.md#keys-search.
 *
 *   npm run build && node bench/key-search.mjs [--keys 100000] [--runs 20]
 */
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { systemClock } from '../dist/core/clock.js';
import { dataDirPaths } from '../dist/core/data-dir.js';
import { initDataDir } from '../dist/server/init.js';
import { startNode } from '../dist/server/node.js';
import { seedKeys } from './seed-keys.mjs';

const { values } = parseArgs({ options: { keys: { type: 'string', default: '100000' }, runs: { type: 'string', default: '20' } } });
const keyCount = Number(values.keys);
const runs = Number(values.runs);

const dataDir = mkdtempSync(join(tmpdir(), 'keyhold-key-search-'));
try {
  const init = await initDataDir({ dataDir, demo: true, clock: systemClock });
  if (!init.demo) throw new Error('no demo keystore');
  const seedStart = performance.now();
  await seedKeys({
    paths: dataDirPaths(dataDir),
    keystoreName: init.demo.keystore.name,
    count: keyCount,
    clock: systemClock,
    attributes: (i) => (i % 100 === 0 ? { description: `Payroll exports batch ${i}`, tags: { owner: `Team ${i % 7}` } } : {}),
  });
  console.log(`seeded ${keyCount} keys in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  const node = await startNode({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }), clock: systemClock });
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  const get = (path) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: node.port,
          path: `/api/v1${path}`,
          ca,
          headers: { authorization: `Bearer ${init.adminToken}` },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - started;
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (res.statusCode !== 200) reject(new Error(`${path}: ${res.statusCode} ${JSON.stringify(body)}`));
            else resolve({ ms, body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    const middle = (await get('/keys?search=bench-key-05&limit=50')).body.nextCursor;
    const queries = [
      ['first page (50 keys, no filter, with total)', '/keys'],
      ['first page of 500', '/keys?limit=500'],
      ['a page in the middle (cursor)', `/keys?cursor=${encodeURIComponent(middle)}`],
      ['status filter, no match (BLOCKED)', '/keys?status=BLOCKED'],
      ['status ENABLED, first page', '/keys?status=ENABLED'],
      ['search by key id, 10 hits (bench-key-09999)', '/keys?search=bench-key-09999'],
      ['search a description, 1,000 hits (payroll)', '/keys?search=payroll'],
      ['search a tag value (team 3)', '/keys?search=team%203'],
      ['search, no hit (full scan)', '/keys?search=no-such-text'],
      ['search + keystore + status', '/keys?search=payroll&keystore=demo&status=ENABLED'],
    ];
    console.log(`| query | keys returned | total | median ms | slowest ms |`);
    console.log(`|---|---|---|---|---|`);
    for (const [label, path] of queries) {
      const first = await get(path);
      const times = [];
      for (let i = 0; i < runs; i++) times.push((await get(path)).ms);
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      const slowest = times[times.length - 1];
      console.log(`| ${label} | ${first.body.keys.length} | ${first.body.total ?? '-'} | ${median.toFixed(1)} | ${slowest.toFixed(1)} |`);
    }
  } finally {
    await node.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
