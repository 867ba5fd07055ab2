import { Worker } from 'node:worker_threads';
import { AuthenticationTagMismatchError } from '../../crypto/aes-gcm.js';
import type { Clock } from '../../core/clock.js';
import { RootTimeoutError, RootUnavailableError, type EkmHealth, type RootEventListener } from '../root-of-trust.js';
import type { ConnectParams, ReplyBatch, WorkerBatch, WorkerRequest, WorkerResult } from './protocol.js';

export interface SessionPoolOptions {
  library: string;
  tokenLabel: string;
  pin: string;
  /** Worker threads, each with its own session (default 2). */
  sessions?: number;
  /** Calls waiting per session before new calls are refused (default 256). */
  maxQueuePerSession?: number;
  /** A call not answered within this long fails with RootTimeoutError (default 2000 ms). */
  callTimeoutMs?: number;
  /** Pause between reconnect attempts after a lost session or token (default 1000 ms). */
  reconnectIntervalMs?: number;
  /** Every session is probed this often, so a lost token is noticed even when idle (default 5000 ms; 0: never). */
  probeIntervalMs?: number;
  /** How long after a timeout the pool still reports DEGRADED (default 30 s). */
  degradedForMs?: number;
  clock: Clock;
  /** Told about losses and recoveries; messages never hold the PIN. */
  onEvent?: RootEventListener;
}

interface Pending {
  resolve(result: WorkerResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

interface Member {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Calls made in this turn of the event loop, posted together. */
  outbox: WorkerBatch;
  exited: boolean;
}

/** The worker module beside this one: `.js` when built; `.ts` under tsx (tests, bench), which the worker must load too. */
function newWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), { env: process.env });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); })`;
  return new Worker(bootstrap, { eval: true, env: process.env });
}

/**
 * A pool of PKCS#11 sessions, one per worker thread, with a bounded queue and a deadline per call.
 * A lost session or token sends the pool into recovery: calls fail fast with RootUnavailableError
 * while it finalizes and reinitializes the library, reopens every session and logs in again, retrying
 * in the background until the token is back. Nothing here needs a restart.
 */
export class SessionPool {
  private members: Member[] = [];
  private nextId = 1;
  private next = 0;
  private connected = false;
  private recovering: Promise<void> | undefined;
  private closed = false;
  private lastTimeoutAt = Number.NEGATIVE_INFINITY;
  private lastError = '';
  private stopRetrying = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly callTimeoutMs: number;
  private readonly maxQueue: number;

  private constructor(private readonly options: SessionPoolOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? 2_000;
    this.maxQueue = options.maxQueuePerSession ?? 256;
  }

  /** Starts the workers and connects every session; rejects (and cleans up) when the token cannot be used. */
  static async open(options: SessionPoolOptions): Promise<SessionPool> {
    const pool = new SessionPool(options);
    const count = Math.max(1, options.sessions ?? 2);
    for (let i = 0; i < count; i++) pool.members.push(pool.spawn());
    try {
      await pool.connectAll(false);
    } catch (error) {
      await pool.close();
      throw error;
    }
    const probeIntervalMs = options.probeIntervalMs ?? 5_000;
    if (probeIntervalMs > 0) pool.probeTimer = setInterval(() => pool.probe(), probeIntervalMs).unref();
    return pool;
  }

  /** A cheap liveness call on every idle session; a failure starts recovery like any lost call. */
  private probe(): void {
    if (!this.connected || this.closed) return;
    for (const member of this.members) {
      if (!member.exited && member.pending.size === 0) this.send(member, { op: 'probe' }).catch(() => undefined);
    }
  }

  private spawn(): Member {
    const worker = newWorker();
    const member: Member = { worker, pending: new Map(), outbox: [], exited: false };
    worker.on('message', (replies: ReplyBatch) => {
      for (const reply of replies) {
        const pending = member.pending.get(reply.id);
        if (!pending) continue; // timed out already
        member.pending.delete(reply.id);
        clearTimeout(pending.timer);
        if (reply.ok) pending.resolve(reply.result);
        else pending.reject(this.failure(reply.kind, reply.message));
      }
    });
    const fail = (message: string) => {
      member.exited = true;
      for (const [id, pending] of member.pending) {
        clearTimeout(pending.timer);
        pending.reject(new RootUnavailableError(message));
        member.pending.delete(id);
      }
    };
    worker.on('error', (error) => fail(`PKCS#11 worker failed: ${error.message}`));
    worker.on('exit', () => {
      fail('PKCS#11 worker exited');
      // A crashed worker is replaced by the recovery, which respawns exited workers.
      if (!this.closed) this.markLost('a PKCS#11 worker exited');
    });
    return member;
  }

  private failure(kind: string, message: string): Error {
    switch (kind) {
      case 'tag':
        return new AuthenticationTagMismatchError();
      case 'lost':
        this.markLost(message);
        return new RootUnavailableError(`HSM session or token lost (${message})`);
      default:
        return new RootUnavailableError(`HSM call failed (${message})`);
    }
  }

  private send(member: Member, request: WorkerRequest, timeoutMs = this.callTimeoutMs): Promise<WorkerResult> {
    if (member.exited) return Promise.reject(new RootUnavailableError('PKCS#11 worker is not running'));
    const id = this.nextId++;
    return new Promise<WorkerResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        member.pending.delete(id);
        this.lastTimeoutAt = this.options.clock.now();
        reject(new RootTimeoutError(`HSM did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      member.pending.set(id, { resolve, reject, timer });
      if (member.outbox.push({ id, expiresAt: Date.now() + timeoutMs, request }) === 1) {
        queueMicrotask(() => {
          const batch = member.outbox;
          member.outbox = [];
          if (!member.exited) member.worker.postMessage(batch);
        });
      }
    });
  }

  /** Runs one call on the least busy session. */
  call(request: WorkerRequest): Promise<WorkerResult> {
    if (this.closed) return Promise.reject(new RootUnavailableError('the PKCS#11 root is closed'));
    if (!this.connected) return Promise.reject(new RootUnavailableError(`HSM unavailable: ${this.lastError || 'reconnecting'}`));
    let best: Member | undefined;
    for (let i = 0; i < this.members.length; i++) {
      const member = this.members[(this.next + i) % this.members.length];
      if (!member || member.exited) continue;
      if (!best || member.pending.size < best.pending.size) best = member;
    }
    this.next = (this.next + 1) % this.members.length;
    if (!best) return Promise.reject(new RootUnavailableError('no PKCS#11 worker is running'));
    if (best.pending.size >= this.maxQueue) {
      this.lastTimeoutAt = this.options.clock.now();
      return Promise.reject(new RootTimeoutError('HSM queue is full'));
    }
    return this.send(best, request);
  }

  /** Runs one call on every session (e.g. to drop per-session copies of a key). */
  async broadcast(request: WorkerRequest): Promise<void> {
    if (!this.connected) throw new RootUnavailableError(`HSM unavailable: ${this.lastError || 'reconnecting'}`);
    await Promise.all(this.members.filter((member) => !member.exited).map((member) => this.send(member, request)));
  }

  private connectParams(reinitialize: boolean): ConnectParams {
    return { library: this.options.library, tokenLabel: this.options.tokenLabel, pin: this.options.pin, reinitialize };
  }

  /** Connects the first session (which initializes the library), then the others. */
  private async connectAll(reinitialize: boolean): Promise<void> {
    const [first, ...rest] = this.members;
    if (!first) throw new RootUnavailableError('no PKCS#11 worker is running');
    await this.send(first, { op: 'connect', params: this.connectParams(reinitialize) }, Math.max(this.callTimeoutMs, 10_000));
    await Promise.all(
      rest.map((member) => this.send(member, { op: 'connect', params: this.connectParams(false) }, Math.max(this.callTimeoutMs, 10_000))),
    );
    this.connected = true;
    this.lastError = '';
  }

  private markLost(detail: string): void {
    if (this.closed || this.recovering) return;
    this.connected = false;
    this.lastError = detail;
    this.options.onEvent?.('lost', detail);
    this.recovering = this.recover().finally(() => {
      this.recovering = undefined;
    });
  }

  private async recover(): Promise<void> {
    while (!this.closed) {
      await new Promise((resolve) => setTimeout(resolve, this.options.reconnectIntervalMs ?? 1_000).unref());
      // close() may have run during the wait; TypeScript keeps the loop condition's narrowing across the await.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (this.closed) return;
      try {
        this.members = this.members.map((member) => (member.exited ? this.spawn() : member));
        // Every session closes before the library is reinitialized, so no worker holds a stale one.
        await Promise.all(this.members.map((member) => this.send(member, { op: 'disconnect', finalize: false })));
        await this.connectAll(true);
        this.options.onEvent?.('recovered', this.options.tokenLabel);
        return;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Reported when the reason changes, not on every attempt.
        if (message !== this.lastError) this.options.onEvent?.('reconnect_failed', message);
        this.lastError = message;
        // A wrong PIN stays wrong; retrying would lock the token.
        if (/PIN_INCORRECT|PIN_LOCKED|PIN_EXPIRED|PIN_INVALID/.test(this.lastError)) {
          this.stopRetrying = true;
          return;
        }
      }
    }
  }

  state(): EkmHealth {
    if (this.closed || !this.connected || this.stopRetrying) return 'UNAVAILABLE';
    const running = this.members.filter((member) => !member.exited).length;
    if (running < this.members.length) return 'DEGRADED';
    if (this.options.clock.now() - this.lastTimeoutAt < (this.options.degradedForMs ?? 30_000)) return 'DEGRADED';
    return 'ACTIVE';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probeTimer);
    const live = this.members.filter((member) => !member.exited);
    await Promise.all(
      live.slice(1).map((member) => this.send(member, { op: 'disconnect', finalize: false }, 5_000).catch(() => undefined)),
    );
    if (live[0]) await this.send(live[0], { op: 'disconnect', finalize: true }, 5_000).catch(() => undefined);
    await Promise.all(this.members.map((member) => member.worker.terminate()));
  }
}
