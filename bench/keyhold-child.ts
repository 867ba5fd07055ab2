/**
 * A Keyhold node for the benchmark, in its own process: what `keyhold serve` does on a first run
 * (initialize a data directory with the demo keystore and key, then start the node), minus the
 * console output. It does not go through bin/keyhold.js, which runs the compiled CLI from dist/, so
 * the benchmark measures the current sources and works before a build.
 *
 * Per-request logging stays ON at info level, as in `serve`, with the same pino destination type
 * (createLogger: buffered, asynchronous), but into --log-file instead of stdout, so its cost is part of the figures.
 *
 * Run as a child: node --import tsx bench/keyhold-child.ts --data-dir DIR --log-file FILE [--port N]
 * Reports `{ type: 'ready', port, certPath, keyPath, uriPath, keyId, credential }` over IPC.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../src/core/clock.js';
import { initDataDir } from '../src/server/init.js';
import { startNode } from '../src/server/node.js';
import { createLogger } from '../src/server/logger.js';

export interface KeyholdReady {
  type: 'ready';
  port: number;
  certPath: string;
  keyPath: string;
  uriPath: string;
  keyId: string;
  credential: { accessKeyId: string; secret: string; region: string };
}

const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, 'log-file': { type: 'string' }, port: { type: 'string', default: '0' } },
});
const dataDir = values['data-dir'];
const logFile = values['log-file'];
if (!dataDir || !logFile) throw new Error('usage: keyhold-child.ts --data-dir DIR --log-file FILE [--port N]');

const init = await initDataDir({ dataDir, demo: true, clock: systemClock });
if (!init.demo) throw new Error('initDataDir did not create the demo keystore');

const logger = createLogger({ level: 'info', file: logFile });
const node = await startNode({ dataDir, host: '127.0.0.1', port: Number(values.port), logger, clock: systemClock });

const ready: KeyholdReady = {
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
    () => logger.flush(() => process.exit(0)),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
