/**
 * A Keyhold node for the benchmark, in its own process: what `keyhold serve` does on a first run
 * (initialize a data directory with the demo keystore and key, then start the node), minus the
 * console output. It runs the COMPILED build (dist/, as `npm start` does; `npm run bench` builds it
 * first) with plain node, so the figures are those of the shipped code, not of a TypeScript loader.
 *
 * Per-request logging stays ON at info level, as in `serve`, through the same logger (buffered,
 * asynchronous), into --log-file instead of stdout, so its cost is part of the figures.
 *
 * The audit log is on (durable mode unless --audit-mode says otherwise), as in `serve`.
 *
 * Run as a child: node bench/keyhold-child.mjs --data-dir DIR --log-file FILE [--port N] [--audit-mode M] [--audit-sync full|normal]
 *   [--pkcs11-library LIB --pkcs11-token-label L --pkcs11-pin-file F [--pkcs11-mode keys|wrap]]
 * Reports a KeyholdReady message (bench/protocol.ts) over IPC.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../dist/core/clock.js';
import { initDataDir } from '../dist/server/init.js';
import { createLogger, flushLogger } from '../dist/server/logger.js';
import { startNode } from '../dist/server/node.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'log-file': { type: 'string' },
    port: { type: 'string', default: '0' },
    // A PKCS#11 root of trust (e.g. SoftHSMv2) instead of the master key file.
    'pkcs11-library': { type: 'string' },
    'pkcs11-token-label': { type: 'string' },
    'pkcs11-pin-file': { type: 'string' },
    'pkcs11-mode': { type: 'string', default: 'keys' },
    'audit-mode': { type: 'string', default: 'durable' },
    'audit-sync': { type: 'string', default: 'full' },
  },
});
const dataDir = values['data-dir'];
const logFile = values['log-file'];
if (!dataDir || !logFile) throw new Error('usage: keyhold-child.mjs --data-dir DIR --log-file FILE [--port N]');

const root = values['pkcs11-library']
  ? {
      kind: 'pkcs11',
      mode: values['pkcs11-mode'],
      library: values['pkcs11-library'],
      tokenLabel: values['pkcs11-token-label'],
      pinFile: values['pkcs11-pin-file'],
    }
  : undefined;
const init = await initDataDir({ dataDir, demo: true, clock: systemClock, root });
if (!init.demo) throw new Error('initDataDir did not create the demo keystore');

const logger = createLogger({ level: 'info', file: logFile });
// The audit log is on, in durable mode by default, as in `keyhold serve`: each response waits for its event's commit.
const node = await startNode({ dataDir, host: '127.0.0.1', port: Number(values.port), logger, clock: systemClock, audit: { mode: values['audit-mode'], sync: values['audit-sync'] } });

/** @type {import('./protocol.ts').KeyholdReady} */
const ready = {
  type: 'ready',
  port: node.port,
  certPath: init.paths.tlsCert,
  keyPath: init.paths.tlsKey,
  uriPath: init.demo.keystore.uriPath,
  keyId: init.demo.keyId,
  credential: { ...init.demo.credential, region: init.demo.keystore.region },
};
if (process.send) process.send(ready);
else console.log(JSON.stringify(ready));

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
