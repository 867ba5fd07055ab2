/**
 * Helpers for end-to-end CLI tests: they run the real `bin/keyhold.js` (which imports the compiled
 * dist/) as child processes, on loopback with ephemeral ports and temporary data directories.
 *
 * Every child started here is tracked; `stop()` ends it (SIGTERM, then SIGKILL), and any child still
 * alive when the test process exits is killed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { httpsJson, type JsonResponse } from '../helpers/https-json.js';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { signKmsStyle } from '../helpers/signers.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'keyhold.js');

// ---------------------------------------------------------------------------------------------------
// dist/ must match src/: the CLI under test runs the compiled code.

function distIsStale(): boolean {
  const src = join(ROOT, 'src');
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli', 'main.js'))) return true;
  // Any source file newer than its compiled counterpart (or without one) means dist/ is stale.
  const stale = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return stale(path);
      if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) return false;
      const compiled = join(dist, relative(src, path)).replace(/\.ts$/, '.js');
      return !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(path).mtimeMs;
    });
  return stale(src);
}

/** Rebuilds dist/ when src/ changed since the last build (one builder at a time across test files). */
export function ensureBuilt(): void {
  if (!distIsStale()) return;
  const lock = join(tmpdir(), `keyhold-dist-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left behind by a crashed run is stale after five minutes (a build takes seconds).
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 300_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`could not take ${lock} within 120 s; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    if (!distIsStale()) return;
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    // tsc still emits on type errors; report them but test what was built.
    if (result.status !== 0)
      process.stderr.write(`test/cli: tsc reported errors while rebuilding dist/:\n${result.stdout}${result.stderr}\n`);
  } finally {
    rmdirSync(lock);
  }
}

ensureBuilt();

// ---------------------------------------------------------------------------------------------------
// Temporary directories and ports

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

// ---------------------------------------------------------------------------------------------------
// Child processes

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

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
    children.add(child);
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
      children.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
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

/** Formats a result for assertion messages. */
export function describeRun(result: RunResult): string {
  return `exit ${result.code ?? result.signal}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

// ---------------------------------------------------------------------------------------------------
// `keyhold serve` as a child

export interface ServedNode {
  child: ChildProcess;
  cwd: string;
  /** Absolute data directory. */
  dataDir: string;
  port: number;
  /** The URL the node printed, e.g. https://localhost:PORT. */
  url: string;
  ca: Buffer;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout matches (bounded). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL if it has not exited within 8 s. Idempotent. */
  stop(): Promise<void>;
}

const SERVING = /serving XKS and the admin API on (https:\/\/\S+)/;

/**
 * Starts `keyhold serve --data-dir DATA_DIR_ARG --port <free port>` in `cwd` and waits for the serving line.
 * `dataDirArg` is passed as given (relative paths resolve against `cwd`).
 */
export async function startServe(options: {
  cwd: string;
  dataDirArg: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}): Promise<ServedNode> {
  let lastFailure = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const node = spawnServe(options, port);
    try {
      const match = await node.waitForStdout(SERVING, options.timeoutMs ?? 30_000);
      node.url = match[1]!;
      node.ca = readFileSync(join(node.dataDir, 'tls', 'cert.pem'));
      return node;
    } catch (error) {
      await node.stop();
      lastFailure = `${(error as Error).message}\nstdout: ${node.stdout()}\nstderr: ${node.stderr()}`;
      // Someone took the port between freePort() and listen(): try another.
      if (!/already in use/.test(node.stderr())) break;
    }
  }
  throw new Error(`keyhold serve did not start: ${lastFailure}`);
}

function spawnServe(
  options: { cwd: string; dataDirArg: string; args?: string[]; env?: Record<string, string | undefined> },
  port: number,
): ServedNode {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--data-dir', options.dataDirArg, '--host', '127.0.0.1', '--port', String(port), ...(options.args ?? [])],
    { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });
  let exited = false;
  const exit = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      exited = true;
      children.delete(child);
      notify();
      resolveExit();
    }),
  );

  const node: ServedNode = {
    child,
    cwd: options.cwd,
    dataDir: resolve(options.cwd, options.dataDirArg),
    port,
    url: '',
    ca: Buffer.alloc(0),
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdout(pattern, timeoutMs = 15_000) {
      return new Promise((resolveWait, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (match) return done(() => resolveWait(match));
          if (exited) return done(() => reject(new Error(`keyhold serve exited before printing ${pattern}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}`))), timeoutMs);
        const done = (finish: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          finish();
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => false), delay(8_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await Promise.race([exit, delay(2_000)]);
      }
    },
  };
  return node;
}

export const delay = (ms: number) => new Promise<void>((resolveDelay) => setTimeout(resolveDelay, ms).unref());

// ---------------------------------------------------------------------------------------------------
// Reading what `serve` printed

/** The `curl …` command as printed: from the line starting with `curl` through its `\` continuations. */
export function extractCurl(stdout: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => /^\s*curl\s/.test(line));
  if (start < 0) throw new Error(`no curl command in:\n${stdout}`);
  const command: string[] = [];
  for (let i = start; i < lines.length; i++) {
    command.push(lines[i]!);
    if (!lines[i]!.endsWith('\\')) break;
  }
  return command.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Talking to the node directly (to check what the CLI did, independently of the CLI)

export type HttpResult = JsonResponse;

export function httpsCall(
  url: string,
  options: { method: string; ca: Buffer; headers: Record<string, string>; body?: string; timeoutMs?: number },
): Promise<HttpResult> {
  return httpsJson(
    url,
    { method: options.method, ca: options.ca, headers: options.headers, agent: false, timeout: options.timeoutMs ?? 10_000 },
    options.body,
  );
}

export interface Credential {
  accessKeyId: string;
  secret: string;
}

/** A SigV4-signed (KMS-style, @smithy/signature-v4) XKS request to a served node. */
export async function xksCall(
  node: ServedNode,
  options: {
    uriPath: string;
    operation: 'health' | 'metadata' | 'encrypt';
    keyId?: string;
    credential: Credential;
    region?: string;
  },
): Promise<HttpResult> {
  const requestMetadata = {
    awsPrincipalArn: 'arn:aws:iam::111122223333:role/cli-test',
    kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    kmsRequestId: randomUUID(),
  };
  let path: string;
  let body: unknown;
  switch (options.operation) {
    case 'health':
      path = `${options.uriPath}/health`;
      body = { requestMetadata: { kmsRequestId: randomUUID(), kmsOperation: 'KmsHealthCheck' } };
      break;
    case 'metadata':
      path = `${options.uriPath}/keys/${options.keyId}/metadata`;
      body = { requestMetadata: { ...requestMetadata, kmsOperation: 'DescribeKey' } };
      break;
    case 'encrypt':
      path = `${options.uriPath}/keys/${options.keyId}/encrypt`;
      body = {
        requestMetadata: { ...requestMetadata, kmsOperation: 'Encrypt' },
        plaintext: Buffer.from('keyhold cli test').toString('base64'),
        encryptionAlgorithm: 'AES_GCM',
      };
      break;
  }
  const url = new URL(path, node.url);
  const payload = JSON.stringify(body);
  const headers = await signKmsStyle({
    host: url.host,
    path: url.pathname,
    body: payload,
    accessKeyId: options.credential.accessKeyId,
    secret: options.credential.secret,
    region: options.region ?? 'us-east-1',
  });
  return httpsCall(url.href, { method: 'POST', ca: node.ca, headers, body: payload });
}

/** A call to the node's admin API with the data directory's admin token (for setup and checks outside the CLI). */
export async function adminCall(node: ServedNode, method: string, path: string, body?: unknown): Promise<HttpResult> {
  const token = readFileSync(join(node.dataDir, 'admin-token'), 'utf8').trim();
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return httpsCall(new URL(`/api/v1${path}`, node.url).href, { method, ca: node.ca, headers, body: payload });
}

export const adminGet = (node: ServedNode, path: string) => adminCall(node, 'GET', path);

/** Every keystore (with credential ids) and every key, as the admin API reports them: compare before/after. */
export async function stateSnapshot(node: ServedNode): Promise<string> {
  const [keystores, keys] = await Promise.all([adminGet(node, '/keystores'), adminGet(node, '/keys')]);
  if (keystores.status !== 200 || keys.status !== 200) throw new Error(`admin API: ${keystores.text} ${keys.text}`);
  return JSON.stringify({ keystores: keystores.json, keys: keys.json });
}

/** Reads the KMS console JSON file written for a keystore. */
export function readKmsConsole(dataDir: string, keystore = 'demo'): { uriPath: string; credential: Credential } {
  const file = JSON.parse(readFileSync(join(dataDir, 'kms-console', `${keystore}.json`), 'utf8'));
  return {
    uriPath: file.XksProxyUriPath,
    credential: {
      accessKeyId: file.XksProxyAuthenticationCredential.AccessKeyId,
      secret: file.XksProxyAuthenticationCredential.RawSecretAccessKey,
    },
  };
}

/**
 * Asserts the shape every failure must have: exit code non-zero, exactly one line on stderr starting
 * `keyhold: `, nothing on stdout. Returns the stderr line.
 */
export function failureLine(result: RunResult): string {
  if (result.code === 0 || result.code === null) throw new Error(`expected a non-zero exit\n${describeRun(result)}`);
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  if (lines.length !== 1 || !lines[0]!.startsWith('keyhold: ')) {
    throw new Error(`expected one stderr line starting "keyhold: "\n${describeRun(result)}`);
  }
  if (result.stdout !== '') throw new Error(`expected nothing on stdout\n${describeRun(result)}`);
  return lines[0]!;
}

/** Asserts a command succeeded quietly and returns its result. */
export function ok(result: RunResult): RunResult {
  assert.equal(result.code, 0, describeRun(result));
  assert.equal(result.stderr, '', describeRun(result));
  return result;
}

/**
 * Runs each failing command and checks that it says why in one `keyhold: ` line and changes nothing:
 * the node's state after each failure equals the state before all of them, and so does `listArgs`'s output.
 */
export function failuresChangeNothing(options: {
  /** Read when the tests run: the node is started in a `before` hook. */
  node: () => ServedNode;
  cli: (...args: string[]) => Promise<RunResult>;
  cases: [label: string, args: string[], reason: RegExp][];
  listArgs: string[];
}): void {
  const { node, cli, cases, listArgs } = options;
  let listBefore: string;
  let stateBefore: string;
  before(async () => {
    [listBefore, stateBefore] = await Promise.all([cli(...listArgs).then((r) => ok(r).stdout), stateSnapshot(node())]);
  });

  // They run a few at a time to keep the suite quick; none may change anything.
  describe('each failure', { concurrency: 4 }, () => {
    for (const [label, args, reason] of cases) {
      it(`${label} → ${reason.source}`, async () => {
        assert.match(failureLine(await cli(...args)), reason);
        assert.equal(await stateSnapshot(node()), stateBefore, 'state unchanged');
      });
    }
  });

  it(`${listArgs.join(' ')} output is identical after all of the failures`, async () => {
    assert.equal(ok(await cli(...listArgs)).stdout, listBefore);
  });
}

/** The `label  value` lines of a record the CLI printed. */
export function parseRecord(stdout: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = line.match(/^(\S+)\s{2,}(.*)$/);
    if (match) record[match[1]!] = match[2]!;
  }
  return record;
}
