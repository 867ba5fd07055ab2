/**
 * A real HAProxy (Debian's `haproxy`) in front of Keyhold nodes on loopback, as docs/fleet.md#haproxy
 * describes it: TCP mode with TLS passed through, health checks over TLS on /ping. Shared by the failover
 * drill (bench/fleet-drill.ts) and its bounded test (test/fleet/haproxy-failover.test.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { delimiter, join } from 'node:path';

/** The haproxy binary: the first on PATH, else Debian's /usr/sbin/haproxy (not on a non-root user's PATH). */
export function haproxyBinary(): string {
  const candidates = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'].map((dir) => join(dir, 'haproxy'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error('haproxy not found on PATH or in /usr/sbin (Debian package haproxy; .ci/run installs it)');
}

/** The configuration: frontend on 127.0.0.1:`front`, round robin over `backends` (loopback ports). */
export function haproxyConfig(front: number, backends: number[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 500ms',
    '  timeout client 30s',
    '  timeout server 30s',
    // A check answered later than this fails; tighter than 1 s, a busy but healthy node is taken out.
    '  timeout check 1s',
    '  retries 2',
    '  option redispatch',
    'frontend xks',
    `  bind 127.0.0.1:${front}`,
    '  default_backend keyhold',
    'backend keyhold',
    '  balance roundrobin',
    // Health checks over TLS to /ping (docs/requirements.md item 101); a node is out after 2 failed checks 500 ms apart.
    '  option httpchk',
    '  http-check send meth GET uri /ping ver HTTP/1.1 hdr Host localhost',
    '  http-check expect status 200',
    '  default-server check check-ssl verify none inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions',
    ...backends.map((port, i) => `  server node${i + 1} 127.0.0.1:${port}`),
    '',
  ].join('\n');
}

/** Writes the configuration into `workDir` and starts haproxy in the foreground (-db); stderr is inherited. */
export function startHaproxy(workDir: string, front: number, backends: number[]): ChildProcess {
  const config = join(workDir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(front, backends));
  return spawn(haproxyBinary(), ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET over HTTPS with the node's certificate (localhost); resolves the status, 0 on any error. */
export function getStatus(port: number, path: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca, timeout: 1_000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Waits until `port` answers /ping with 200; resolves how long that took (ms), rejects after `timeoutMs`. */
export async function waitForPing(port: number, ca: Buffer, timeoutMs = 30_000): Promise<number> {
  const started = performance.now();
  while ((await getStatus(port, '/ping', ca)) !== 200) {
    if (performance.now() - started > timeoutMs) throw new Error(`port ${port} did not answer /ping within ${timeoutMs} ms`);
    await delay(20);
  }
  return performance.now() - started;
}
