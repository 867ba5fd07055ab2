/**
 * Starting the benchmark's servers: data directories for the Keyhold variants (initialized and seeded
 * once per run), Keyhold itself (one branch per ServerKind), the bare baseline, and SoftHSMv2 tokens.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { forkScript, REPO_DIR, startServer } from './children.js';
import type { Dataset, Variant } from './matrix.js';
import type { KeyholdInfo, KeyholdReady } from './protocol.js';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

/** Says what is missing for an HSM dataset, or undefined when SoftHSMv2 is installed. */
export function softHsmMissing(): string | undefined {
  if (!existsSync(SOFTHSM_LIBRARY)) return `--hsm needs SoftHSMv2: no ${SOFTHSM_LIBRARY} (install the softhsm2 package)`;
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
  } catch {
    return '--hsm needs SoftHSMv2: softhsm2-util is not on the PATH (install the softhsm2 package)';
  }
  return undefined;
}

export interface AuditOptions {
  mode: string;
  sync: string;
  /** `--request-log` (all | errors); absent: serve's default for the audit mode. */
  requestLog?: string;
}

/** An initialized data directory and what it took to make it. */
export interface PreparedDataset {
  dataset: Dataset;
  dataDir: string;
  infoFile: string;
  /** Extra environment for every process opening the directory (SOFTHSM2_CONF for an HSM root). */
  env: NodeJS.ProcessEnv;
  initMs: number;
  seedMs: number;
}

/** A SoftHSMv2 token in `dir` for an HSM dataset: returns the init child's extra args and the env. */
function prepareSoftHsm(dir: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = randomBytes(8).toString('hex');
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, pin, { mode: 0o600 });
  const env = { SOFTHSM2_CONF: conf };
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', 'keyhold-bench', '--pin', pin, '--so-pin', randomBytes(8).toString('hex')],
    {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
  return {
    args: [
      '--pkcs11-library',
      SOFTHSM_LIBRARY,
      '--pkcs11-token-label',
      'keyhold-bench',
      '--pkcs11-pin-file',
      pinFile,
      '--pkcs11-mode',
      'keys',
    ],
    env,
  };
}

/**
 * Initializes a data directory under `tempDir` for `dataset` (demo keystore + dataset.keys keys) in
 * its own process (keyhold-child.mjs --init-only), so the server started on it afterwards starts as
 * a later `keyhold serve` run would, on an existing directory.
 */
export async function prepareDataset(dataset: Dataset, tempDir: string, track: (child: ChildProcess) => void): Promise<PreparedDataset> {
  const dir = join(tempDir, dataset.name);
  mkdirSync(dir, { recursive: true });
  const hsm = dataset.root === 'hsm' ? prepareSoftHsm(join(dir, 'softhsm')) : undefined;
  const dataDir = join(dir, 'data');
  const infoFile = join(dir, 'info.json');
  const env = hsm?.env ?? {};
  const child = forkScript(
    'keyhold-child.mjs',
    ['--init-only', '--data-dir', dataDir, '--info', infoFile, '--keys', String(dataset.keys), ...(hsm?.args ?? [])],
    env,
  );
  track(child);
  const timing = await new Promise<{ initMs: number; seedMs: number }>((resolve, reject) => {
    let reported: { initMs: number; seedMs: number } | undefined;
    child.on('message', (message: { type: string; initMs: number; seedMs: number }) => {
      if (message.type === 'initialized') reported = message;
    });
    child.once('exit', (code) =>
      reported && code === 0
        ? resolve(reported)
        : reject(new Error(`initializing the ${dataset.name} data directory failed (exit code ${code})`)),
    );
  });
  return { dataset, dataDir, infoFile, env, ...timing };
}

export interface KeyholdServer {
  child: ChildProcess;
  port: number;
  ca: string;
  info: KeyholdInfo;
  logFile: string;
  /** From spawning the process to the node answering (the ready message, or the serve banner). */
  processToReadyMs: number;
  /** startNode() alone, when the server kind reports it. */
  startNodeMs?: number;
}

/** Starts Keyhold for `variant` on its prepared data directory; one branch per server kind. */
export async function startKeyhold(
  variant: Variant,
  prepared: PreparedDataset,
  options: { audit: AuditOptions; logFile: string; track: (child: ChildProcess) => void },
): Promise<KeyholdServer> {
  const info = JSON.parse(readFileSync(prepared.infoFile, 'utf8')) as KeyholdInfo;
  const ca = readFileSync(info.certPath, 'utf8');
  const spawnedAt = performance.now();
  switch (variant.server.kind) {
    case 'child': {
      const started = startServer<KeyholdReady>(
        `keyhold (${variant.dataset.name})`,
        'keyhold-child.mjs',
        [
          '--data-dir',
          prepared.dataDir,
          '--info',
          prepared.infoFile,
          '--log-file',
          options.logFile,
          '--audit-mode',
          options.audit.mode,
          '--audit-sync',
          options.audit.sync,
          ...(options.audit.requestLog ? ['--request-log', options.audit.requestLog] : []),
        ],
        prepared.env,
      );
      options.track(started.child);
      const ready = await started.ready;
      return {
        child: started.child,
        port: ready.port,
        ca,
        info,
        logFile: options.logFile,
        processToReadyMs: performance.now() - spawnedAt,
        startNodeMs: ready.startNodeMs,
      };
    }
    case 'serve': {
      const args = [
        'bin/keyhold.js',
        'serve',
        '--data-dir',
        prepared.dataDir,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--log-level',
        'info',
        '--audit-mode',
        options.audit.mode,
        '--audit-sync',
        options.audit.sync,
        ...(options.audit.requestLog ? ['--request-log', options.audit.requestLog] : []),
      ];
      if (variant.server.workers !== undefined) args.push('--workers', String(variant.server.workers));
      const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
      const child = spawn(process.execPath, [...nodeArgs, ...args], {
        cwd: REPO_DIR,
        env: { ...process.env, ...prepared.env },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      options.track(child);
      const port = await servePort(child, options.logFile);
      return { child, port, ca, info, logFile: options.logFile, processToReadyMs: performance.now() - spawnedAt };
    }
  }
}

/**
 * Reads `keyhold serve`'s stdout until its banner names the URL it serves on ("… serving XKS and
 * the admin API on https://localhost:PORT …"); everything after (the request log) goes to `logFile`.
 */
function servePort(child: ChildProcess, logFile: string, timeoutMs = 60_000): Promise<number> {
  const log = createWriteStream(logFile);
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    let port: number | undefined;
    const timer = setTimeout(() => fail(`no serving banner within ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`keyhold serve failed to start: ${why}`));
    };
    child.once('exit', (code, signal) => port === undefined && fail(`exited (code ${code}, signal ${signal}) before serving`));
    lines.on('line', (line) => {
      if (port !== undefined) {
        log.write(line + '\n');
        return;
      }
      const match = /serving XKS.*? on https:\/\/[^\s/]+:(\d+)/.exec(line);
      if (!match) return;
      port = Number(match[1]);
      clearTimeout(timer);
      resolve(port);
    });
  });
}

export interface BaselineServer {
  child: ChildProcess;
  port: number;
  ca: string;
  aesKey: Buffer;
}

/** The bare baseline, on the same certificate as Keyhold's default data directory. */
export async function startBaseline(certPath: string, keyPath: string, track: (child: ChildProcess) => void): Promise<BaselineServer> {
  const aesKey = randomBytes(32);
  const started = startServer<{ type: 'ready'; port: number }>('baseline', 'baseline-server.mjs', ['--cert', certPath, '--key', keyPath], {
    BENCH_BASELINE_KEY: aesKey.toString('hex'),
  });
  track(started.child);
  const { port } = await started.ready;
  return { child: started.child, port, ca: readFileSync(certPath, 'utf8'), aesKey };
}
