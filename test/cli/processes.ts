/**
 * The CLI as child processes: `keyhold ARGS` and shell lines run to completion, in temporary directories.
 * Every child started here is tracked; any still alive when the test process exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ensureBuilt } from './dist-build.js';

ensureBuilt();

const tempDirs: string[] = [];

export function tempDir(label = 'cli'): string {
  const dir = mkdtempSync(join(tmpdir(), `keyhold-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago on 127.0.0.1 (the caller retries if someone takes it first). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export const delay = (ms: number) => new Promise<void>((resolveDelay) => setTimeout(resolveDelay, ms).unref());

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Tracks a child until it exits, so that none outlives the test process. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** The environment for children: ours without KEYHOLD_* settings (tests pass what they mean) or test-runner state. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('KEYHOLD_') || name === 'NODE_TEST_CONTEXT' || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

function run(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${command} ${args.join(' ')}\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `keyhold ARGS...` to completion. */
export function keyhold(args: string[], options: RunOptions): Promise<RunResult> {
  return run(process.execPath, [BIN, ...args], options);
}

/** Runs a shell command line with bash, as an operator pasting it would. */
export function bash(commandLine: string, options: RunOptions): Promise<RunResult> {
  return run('bash', ['-c', commandLine], options);
}

/** A shell word: the text single-quoted. */
export const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** Runs `keyhold ARGS...` with `input` as its first line of stdin, as `printf '%s\n' INPUT | keyhold …` would. */
export function keyholdWithInput(input: string, args: string[], options: RunOptions): Promise<RunResult> {
  return bash(
    `printf '%s\\n' ${shellQuote(input)} | ${shellQuote(process.execPath)} ${shellQuote(BIN)} ${args.map(shellQuote).join(' ')}`,
    options,
  );
}

/** Formats a result for assertion messages. */
export function describeRun(result: RunResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}
