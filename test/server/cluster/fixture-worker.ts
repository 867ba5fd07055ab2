/**
 * A stand-in worker process for the primary's tests: it joins the cluster through the real channel
 * (joinCluster), reports ready, and records what happens to it as JSON lines in $EVENTS_FILE.
 * $FAIL_INDEX: that worker reports a start failure and exits 4. $CRASH: every worker exits 3 right after
 * it reported ready. SIGUSR2: announce a change (the primary refreshes the others).
 */
import { appendFileSync } from 'node:fs';
import { pino } from 'pino';
import type { IpcEndpoint } from '../../../src/server/cluster/ipc.js';
import { joinCluster } from '../../../src/server/cluster/member.js';

const index = Number(process.env.KEYHOLD_WORKER_INDEX);
const record = (event: string, detail: Record<string, unknown> = {}) =>
  appendFileSync(process.env.EVENTS_FILE!, JSON.stringify({ index, pid: process.pid, event, ...detail }) + '\n');

const link = joinCluster({
  index,
  count: Number(process.env.WORKERS),
  endpoint: process as unknown as IpcEndpoint,
  logger: pino({ level: 'silent' }),
});
link.member.onRefresh(() => Promise.resolve(record('refreshed')));
link.handle('banner', () => Promise.resolve({ text: `banner from worker ${index}` }));
process.on('SIGTERM', () => {
  record('sigterm');
  process.exit(0);
});
process.on('SIGUSR2', () => {
  void link.member.announceChange('test change').then(() => record('announced'));
});

if (String(index) === process.env.FAIL_INDEX) {
  await link.failed({ message: `worker ${index} cannot start: port 1 is taken`, exitCode: 4 });
  process.exit(4);
}
await link.ready({ url: 'https://localhost:1', port: 1, pid: process.pid, nodeId: `node-w${index}` });
record('ready');
if (process.env.CRASH) process.exit(3);
setInterval(() => undefined, 60_000);
