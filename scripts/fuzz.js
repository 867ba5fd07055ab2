#!/usr/bin/env node
// `npm run fuzz`: the fuzzers at nightly size. FUZZ_REQUESTS (default 100000) sets how many generated requests
// each fuzzer sends; `npm test` runs the same files at scale 1 (the XKS fuzzer: 10,480 requests).
// FUZZ_SEED=<n> reproduces a run. Usage: node scripts/fuzz.js [test file ...]
import { spawnSync } from 'node:child_process';

/** Requests each fuzzer sends at FUZZ_SCALE=1 (the batches of its legs). */
const AT_SCALE_ONE = { 'test/xks/fuzz.test.ts': 10_480, 'test/admin/fuzz.test.ts': 20_480 };
/** Run when no file is named: the XKS fuzzer (the admin API fuzzer on request: `node scripts/fuzz.js test/admin/fuzz.test.ts`). */
const DEFAULT_FILES = ['test/xks/fuzz.test.ts'];

const requests = Number(process.env.FUZZ_REQUESTS ?? 100_000);
if (!Number.isInteger(requests) || requests < 1) {
  console.error(`fuzz: FUZZ_REQUESTS must be a whole number above 0 (got "${process.env.FUZZ_REQUESTS}")`);
  process.exit(2);
}
const files = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_FILES;
let status = 0;
for (const file of files) {
  const scale = requests / (AT_SCALE_ONE[file] ?? 10_000);
  console.log(`fuzz: ${file}, ${requests} requests (FUZZ_SCALE=${scale.toFixed(3)})`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], {
    stdio: 'inherit',
    env: { ...process.env, FUZZ_SCALE: String(scale) },
  });
  status ||= result.status ?? 1;
}
process.exit(status);
