/**
 * A Keyhold node for the benchmark, in its own process. It runs the COMPILED build (dist/, as
 * `npm start` does; `npm run bench` builds it first) with plain node, so the figures are those of the
 * shipped code, not of a TypeScript loader. Two steps, each its own process:
 *
 *   --init-only: what `keyhold serve` does on a first run (initialize a data directory with the demo
 *     keystore and key), plus --keys N - 1 more keys in the demo keystore (seed-keys.mjs), then
 *     writes what a client needs to --info FILE (port excepted; mode 0600: it holds the benchmark's
 *     SigV4 secret, in the benchmark's temporary directory) and exits.
 *   serve (default): starts the node on that directory, as a later `keyhold serve` run does, and
 *     reports a KeyholdReady message (bench/protocol.ts) over IPC, with how long startNode() took.
 *
 * Logging is at info level, as in `serve`, through the same logger (buffered, asynchronous), into
 * --log-file instead of stdout, so its cost is part of the figures; which XKS requests get a line is
 * serve's default for the audit mode (errors only with a durable audit log) unless --request-log says.
 * The audit log is on (durable mode unless --audit-mode says otherwise), as in `serve`.
 *
 *   node bench/keyhold-child.mjs --init-only --data-dir DIR --info FILE [--keys N]
 *     [--pkcs11-library LIB --pkcs11-token-label L --pkcs11-pin-file F [--pkcs11-mode keys|wrap]]
 *   node bench/keyhold-child.mjs --data-dir DIR --info FILE --log-file FILE [--port N] [--audit-mode M] [--audit-sync full|normal] [--request-log all|errors]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../dist/core/clock.js';
import { dataDirPaths } from '../dist/core/data-dir.js';
import { initDataDir } from '../dist/server/init.js';
import { defaultRequestLog } from '../dist/xks/request-log.js';
import { createLogger, flushLogger } from '../dist/server/logger.js';
import { startNode } from '../dist/server/node.js';
import { benchKeyId, seedKeys } from './seed-keys.mjs';

const { values } = parseArgs({
  options: {
    'init-only': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    info: { type: 'string' },
    keys: { type: 'string', default: '1' },
    'log-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    // A PKCS#11 root of trust (e.g. SoftHSMv2) instead of the master key file.
    'pkcs11-library': { type: 'string' },
    'pkcs11-token-label': { type: 'string' },
    'pkcs11-pin-file': { type: 'string' },
    'pkcs11-mode': { type: 'string', default: 'keys' },
    'audit-mode': { type: 'string', default: 'durable' },
    'request-log': { type: 'string' },
    'audit-sync': { type: 'string', default: 'full' },
  },
});
const dataDir = values['data-dir'];
const infoFile = values.info;
if (!dataDir || !infoFile) throw new Error('usage: keyhold-child.mjs [--init-only] --data-dir DIR --info FILE ...');
const send = (message) => (process.send ? process.send(message) : console.log(JSON.stringify(message)));

/** Key ids spread evenly over all keys, at most this many (requests cycle through them). */
const SAMPLE_KEY_IDS = 1024;

if (values['init-only']) {
  const keyCount = Number(values.keys);
  if (!Number.isInteger(keyCount) || keyCount < 1) throw new Error('--keys must be a positive integer');
  const root = values['pkcs11-library']
    ? {
        kind: 'pkcs11',
        mode: values['pkcs11-mode'],
        library: values['pkcs11-library'],
        tokenLabel: values['pkcs11-token-label'],
        pinFile: values['pkcs11-pin-file'],
      }
    : undefined;
  const started = performance.now();
  const init = await initDataDir({ dataDir, demo: true, clock: systemClock, root });
  if (!init.demo) throw new Error('initDataDir did not create the demo keystore');
  const initMs = performance.now() - started;
  await seedKeys({ paths: dataDirPaths(dataDir), keystoreName: init.demo.keystore.name, count: keyCount, clock: systemClock });
  const seedMs = performance.now() - started - initMs;
  const step = Math.max(1, Math.floor(keyCount / SAMPLE_KEY_IDS));
  const keyIds = [];
  for (let i = 0; i < keyCount && keyIds.length < SAMPLE_KEY_IDS; i += step) keyIds.push(benchKeyId(i));
  /** @type {import('./protocol.ts').KeyholdInfo} */
  const info = {
    certPath: init.paths.tlsCert,
    keyPath: init.paths.tlsKey,
    uriPath: init.demo.keystore.uriPath,
    keyIds,
    keyCount,
    credential: { ...init.demo.credential, region: init.demo.keystore.region },
  };
  writeFileSync(infoFile, JSON.stringify(info), { mode: 0o600 });
  send({ type: 'initialized', initMs, seedMs });
  process.exit(0);
}

const logFile = values['log-file'];
if (!logFile) throw new Error('usage: keyhold-child.mjs --data-dir DIR --info FILE --log-file FILE');
const info = JSON.parse(readFileSync(infoFile, 'utf8'));
const logger = createLogger({ level: 'info', file: logFile });
const started = performance.now();
// The audit log is on, in durable mode by default, as in `keyhold serve`: each response waits for its event's commit.
const node = await startNode({
  dataDir,
  host: '127.0.0.1',
  port: Number(values.port),
  logger,
  clock: systemClock,
  audit: { mode: values['audit-mode'], sync: values['audit-sync'] },
  requestLog: values['request-log'] ?? defaultRequestLog(values['audit-mode']),
});
/** @type {import('./protocol.ts').KeyholdReady} */
const ready = {
  type: 'ready',
  port: node.port,
  startNodeMs: performance.now() - started,
  liveKeys: node.services.live.keyCount(),
  ...info,
};
send(ready);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  node.close().then(
    () => flushLogger(logger).then(() => process.exit(0)),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
