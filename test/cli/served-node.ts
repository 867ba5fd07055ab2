/** `keyhold serve` as a child process, and the per-file setup that starts one for a suite's tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { BIN } from './dist-build.js';
import { readKmsConsole, type XksTarget } from './node-calls.js';
import { childEnv, delay, freePort, keyhold, removeTempDirs, tempDir, track, type RunResult } from './processes.js';

export interface ServedNode {
  child: ChildProcess;
  cwd: string;
  /** Absolute data directory. */
  dataDir: string;
  port: number;
  /** The XKS URL the node printed, e.g. https://localhost:PORT. */
  url: string;
  /** The admin listener's URL it printed (the XKS URL with --single-listener). */
  adminUrl: string;
  ca: Buffer;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout matches (bounded). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL if it has not exited within 8 s. Idempotent. */
  stop(): Promise<void>;
}

/** `serving XKS on URL and the admin API on URL`, or `serving XKS and the admin API on URL` (--single-listener). */
const SERVING = /serving XKS (?:and the admin API )?on (https:\/\/[^\s,]+)(?: and the admin API on (https:\/\/\S+))?(?= with | \(data)/;

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
      const [, url = '', adminUrl] = await node.waitForStdout(SERVING, options.timeoutMs ?? 30_000);
      node.url = url;
      node.adminUrl = adminUrl ?? url;
      node.ca = readFileSync(join(node.dataDir, 'tls', 'cert.pem'));
      return node;
    } catch (error) {
      await node.stop();
      lastFailure = `${error instanceof Error ? error.message : String(error)}\nstdout: ${node.stdout()}\nstderr: ${node.stderr()}`;
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
  track(child);
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
    adminUrl: '',
    ca: Buffer.alloc(0),
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdout(pattern, timeoutMs = 15_000) {
      return new Promise((resolveWait, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (match) return done(() => resolveWait(match));
          if (exited) return done(() => reject(new Error(`keyhold serve exited before printing ${pattern.source}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern.source}`))),
          timeoutMs,
        );
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

/** The node a test file works against, with the CLI pointed at it. */
export interface ServedSuite {
  /** The running node (started in the suite's `before` hook). */
  readonly node: ServedNode;
  /** The node's working directory: commands run here find it through ./data (node.json, admin-token). */
  readonly cwd: string;
  /** The demo keystore's URI path and credential, from its KMS console file. */
  readonly demo: XksTarget;
  /** Runs `keyhold ARGS...` in the node's cwd, with the suite's environment. */
  readonly cli: (...args: string[]) => Promise<RunResult>;
}

/**
 * The setup every CLI suite shares: a temporary cwd, `keyhold serve --data-dir data` started there before the
 * file's tests (after `prepare`, e.g. a `keyhold init`), stopped and the temporary directories removed after them.
 * Call it at the top level of a test file, or of a describe block; tests (and `before` hooks inside describe
 * blocks) can use the node.
 * Its `after` hook removes every temporary directory made so far (so a later block makes its own in a hook).
 */
export function serveForSuite(
  label: string,
  options: {
    /** More `serve` flags. */
    args?: string[];
    /** The environment of the node and of `cli` (e.g. KEYHOLD_CONFIG_DIR). */
    env?: Record<string, string>;
    /** Runs in the cwd before the node starts. */
    prepare?: (cwd: string) => Promise<void>;
    /**
     * Runs once the node serves (e.g. keys made through the admin API). In this hook, not a `before` of the
     * file's own: Node 20 does not wait for one top-level `before` hook before it starts the next.
     */
    setUp?: (suite: ServedSuite) => Promise<void>;
  } = {},
): ServedSuite {
  const cwd = tempDir(label);
  let node: ServedNode | undefined;
  let demo: XksTarget | undefined;
  before(async () => {
    await options.prepare?.(cwd);
    node = await startServe({ cwd, dataDirArg: 'data', args: options.args, env: options.env });
    await options.setUp?.(suite);
  });
  after(async () => {
    await node?.stop();
    removeTempDirs();
  });
  const started = (): ServedNode => {
    if (!node) throw new Error(`the ${label} node is not started yet: use it in tests or hooks after serveForSuite()`);
    return node;
  };
  const suite: ServedSuite = {
    get node() {
      return started();
    },
    cwd,
    get demo() {
      demo ??= readKmsConsole(started().dataDir);
      return demo;
    },
    cli: (...args) => keyhold(args, { cwd, env: options.env }),
  };
  return suite;
}
