/**
 * Child processes of the benchmark: the two servers and the per-phase load generator. Each is a node
 * process with an IPC channel (TypeScript scripts through tsx; Keyhold's own child runs the compiled
 * build with plain node); servers announce `{ type: 'ready', ... }`.
 * Also: CPU accounting for a child (from /proc, Linux only) and for the whole machine.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

export const REPO_DIR = fileURLToPath(new URL('..', import.meta.url));

export function forkScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): ChildProcess {
  return fork(`${BENCH_DIR}${script}`, args, {
    execArgv: [...(script.endsWith('.ts') ? ['--import', 'tsx'] : []), ...nodeArgs],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** An IPC message `{ type, … }` of the given type; its other fields are the sender's protocol. */
export function isMessageOfType(message: unknown, type: string): message is { type: string } {
  return typeof message === 'object' && message !== null && 'type' in message && message.type === type;
}

/**
 * Forks a server script; `ready` resolves with its ready message, and rejects (killing the child) if
 * it exits or stays silent for `timeoutMs`. The child is returned at once so the caller can track it.
 */
export function startServer<Ready extends { type: 'ready' }>(
  name: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): { child: ChildProcess; ready: Promise<Ready> } {
  // e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the servers.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const child = forkScript(script, args, env, nodeArgs);
  const ready = new Promise<Ready>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} failed to start: ${why}`));
    };
    const timer = setTimeout(() => fail(`no ready message within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal}) before it was ready`));
    child.on('message', (message: unknown) => {
      if (!isMessageOfType(message, 'ready')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      // The server's ready message; the caller names its fields.
      resolve(message as Ready);
    });
  });
  return { child, ready };
}

/** SIGTERM, then SIGKILL if the child has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every mainstream Linux build. */
const CLK_TCK = 100;

/** Fields of /proc/<pid>/stat after "pid (comm) ": state is field 3, so ppid (4) is at index 1, utime (14) and stime (15) at 11 and 12. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by a process and its live descendants (a server with
 * worker processes), or undefined off Linux.
 */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const own = statFields(pid);
  if (!own) return undefined;
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(Number(entry))?.[1]);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  let seconds = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const next = pending.pop()!;
    const fields = next === pid ? own : statFields(next);
    if (fields) seconds += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    pending.push(...(children.get(next) ?? []));
  }
  return seconds;
}

/** Machine-wide busy and total CPU time (all cores), from /proc/stat, or undefined off Linux. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((a, b) => a + b, 0);
    const idle = values[3]! + values[4]!;
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}
