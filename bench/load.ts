/**
 * The load generator, run in its own process (so it never shares an event loop with a server),
 * replaying a pool of pre-signed XKS requests over TLS in one of three transports:
 *
 * - h1 keep-alive: node:https Agent, HTTP/1.1 (ALPN http/1.1), `maxSockets` = connections;
 * - h1 cold: a new TCP connection and a FULL TLS handshake per request (no keep-alive, no TLS
 *   session resumption: the agent caches no sessions), as a client that never reuses connections;
 * - h2: `connections` node:http2 sessions (ALPN h2), requests spread round-robin over them as
 *   concurrent streams.
 *
 * Two modes:
 * - saturation: closed loop. `concurrency` requests are in flight at all times (each completion
 *   sends the next one). Counts responses that complete inside the measurement window.
 * - fixed-rate: open loop. Request i is scheduled at t0 + i/rate on an absolute timetable, whatever
 *   happened to earlier requests. Latency is measured from the SCHEDULED time, so a stall on either
 *   side shows up in the latencies of every request it delayed (no coordinated omission). A request
 *   sent more than LATE_MS after its slot is counted as late; one that cannot be sent at all because
 *   `maxInFlight` requests are already outstanding is counted as unsent (an error).
 *
 * Both modes warm up for `warmupMs` (not measured), measure for `durationMs`, then wait at most
 * `drainMs` for outstanding requests. In fixed-rate mode every measured slot ends up in the latency
 * distribution: successes and failures with their latency, and requests still outstanding after the
 * drain as timeouts (errors) with their latency so far; only unsent slots have none. Every response's
 * status is checked, and every `checkEvery`-th 200 body is checked against its operation
 * (xks-requests.ts checkResponse); a bad one is a correctness failure. The negotiated ALPN protocol
 * is reported, so the parent can check the transport was the one asked for.
 *
 * Protocol (IPC): parent sends `{ type: 'job', job }`; child sends `{ type: 'measure-start' }`,
 * `{ type: 'measure-end' }` (so the parent can sample server CPU), then `{ type: 'result', result }`.
 * One process runs the phases of a whole benchmark run, one job at a time (each job opens its own
 * connections and closes them at the end), so no phase pays for starting a process.
 *
 * Over 300 lines on purpose: the two modes share the tally, the drain, the CPU window and the result, and
 * together they are the child's side of that protocol; the transports live in senders.ts.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { isMessageOfType } from './children.js';
import { createSender, type Sender, type TlsInfo } from './senders.js';
import { LatencyRecorder, percentile, round, summarize, type LatencySummary } from './stats.js';
import { checkResponse, type PreparedRequest } from './xks-requests.js';

/** A request dispatched this long after its slot counts as late (fixed-rate mode). */
export const LATE_MS = 10;
/**
 * A slot this far behind schedule is not sent but counted as unsent (fixed-rate mode): the load
 * generator cannot keep up (e.g. cold connections, where each request costs it a TLS handshake), and
 * sending anyway would only stretch the phase without measuring the server.
 */
export const MAX_LAG_MS = 1000;

export type Protocol = 'h1' | 'h2';
export type Connection = 'keep-alive' | 'cold';

export interface LoadJob {
  mode: 'saturation' | 'fixed-rate';
  protocol: Protocol;
  /** cold: a new connection and full TLS handshake per request (HTTP/1.1 only). */
  connection: Connection;
  port: number;
  ca: string;
  requests: PreparedRequest[];
  connections: number;
  warmupMs: number;
  durationMs: number;
  drainMs: number;
  /** saturation: requests kept in flight. */
  concurrency?: number;
  /** fixed-rate: requests per second. */
  rate?: number;
  /** fixed-rate: outstanding requests beyond which a slot is skipped and counted as unsent. */
  maxInFlight?: number;
  checkEvery: number;
  /** fixed-rate: also return every measured slot's outcome (`samples`), to cut the run into windows afterwards. */
  keepSamples?: boolean;
}

/**
 * Every measured slot of a fixed-rate run (keepSamples), in the order they finished: its scheduled time
 * (`t0EpochMs + slot × intervalMs`, wall clock, comparable with another process's Date.now()), its latency
 * from that time (null when it was never sent), and whether it succeeded. Timeouts carry their latency so far.
 */
export interface FixedRateSamples {
  t0EpochMs: number;
  intervalMs: number;
  slot: number[];
  latencyMs: (number | null)[];
  ok: boolean[];
}

export interface LoadResult {
  mode: LoadJob['mode'];
  /** Successful (200, well-formed) responses per second in the measurement window. */
  rps: number;
  ok: number;
  /** Non-200 responses + transport errors + timeouts + unsent, in the measurement window. */
  errors: number;
  non200: number;
  transportErrors: number;
  timeouts: number;
  unsent: number;
  late: number;
  /** Bodies checked, and how many of them were not valid responses for their operation. */
  checked: number;
  badResponses: number;
  firstProblem?: string;
  /** Fixed-rate: how late requests were dispatched relative to their slot (timers tick per ms). */
  sendLagP50Ms?: number;
  sendLagP99Ms?: number;
  sendLagMaxMs?: number;
  latency: LatencySummary;
  windowMs: number;
  /** CPU used by this process (user + system) over the window, in % of one core. */
  loadgenCpuPct: number;
  /** TLS version, cipher and negotiated ALPN protocol (`http/1.1` or `h2`) of the first response. */
  tls?: TlsInfo;
  statusCounts: Record<string, number>;
  samples?: FixedRateSamples;
}

class Tally {
  ok = 0;
  non200 = 0;
  transportErrors = 0;
  timeouts = 0;
  unsent = 0;
  late = 0;
  checked = 0;
  badResponses = 0;
  firstProblem?: string;
  statusCounts: Record<string, number> = {};
  private sinceCheck = 0;

  constructor(private readonly checkEvery: number) {}

  /** Classifies one finished request; returns whether it succeeded. */
  add(status: number, body: string | undefined, error: Error | undefined, prepared: PreparedRequest): boolean {
    const key = error ? `error:${(error as NodeJS.ErrnoException).code ?? error.message}` : String(status);
    this.statusCounts[key] = (this.statusCounts[key] ?? 0) + 1;
    if (error) {
      this.transportErrors++;
      this.firstProblem ??= `transport error: ${error.message}`;
      return false;
    }
    if (status !== 200) {
      this.non200++;
      this.firstProblem ??= `HTTP ${status}: ${body?.slice(0, 200)}`;
      return false;
    }
    if (++this.sinceCheck >= this.checkEvery) {
      this.sinceCheck = 0;
      this.checked++;
      const problem = checkResponse(prepared.expect, body ?? '');
      if (problem !== undefined) {
        this.badResponses++;
        this.firstProblem ??= `bad ${prepared.expect.operation} response: ${problem}`;
        return false;
      }
    }
    this.ok++;
    return true;
  }

  get errors(): number {
    return this.non200 + this.transportErrors + this.timeouts + this.unsent + this.badResponses;
  }
}

const now = () => performance.now();
const notify = (type: 'measure-start' | 'measure-end') => process.send?.({ type });

function cpuWindow() {
  let start: NodeJS.CpuUsage | undefined;
  let startedAt = 0;
  let pct = Number.NaN;
  return {
    start() {
      start = process.cpuUsage();
      startedAt = now();
    },
    stop() {
      if (!start) return;
      const used = process.cpuUsage(start);
      pct = ((used.user + used.system) / 1000 / (now() - startedAt)) * 100;
    },
    get pct() {
      return pct;
    },
  };
}

/** Resolves once `outstanding()` is 0 or `drainMs` has passed. */
function drain(outstanding: () => number, drainMs: number): Promise<void> {
  const deadline = now() + drainMs;
  return new Promise((resolve) => {
    const poll = () => (outstanding() === 0 || now() >= deadline ? resolve() : setTimeout(poll, 5));
    poll();
  });
}

function result(
  job: LoadJob,
  tally: Tally,
  latency: LatencyRecorder,
  cpu: ReturnType<typeof cpuWindow>,
  sender: Sender,
  extra: Partial<LoadResult> = {},
): LoadResult {
  return {
    mode: job.mode,
    rps: round(tally.ok / (job.durationMs / 1000), 1),
    ok: tally.ok,
    errors: tally.errors,
    non200: tally.non200,
    transportErrors: tally.transportErrors,
    timeouts: tally.timeouts,
    unsent: tally.unsent,
    late: tally.late,
    checked: tally.checked,
    badResponses: tally.badResponses,
    firstProblem: tally.firstProblem,
    latency: summarize(latency),
    windowMs: job.durationMs,
    loadgenCpuPct: round(cpu.pct, 1),
    tls: sender.tls,
    statusCounts: tally.statusCounts,
    ...extra,
  };
}

/** Closed loop: `concurrency` workers, each sending its next request when the previous completes. */
export async function runSaturation(job: LoadJob): Promise<LoadResult> {
  const concurrency = job.concurrency ?? job.connections;
  const sender = createSender(job);
  const tally = new Tally(job.checkEvery);
  const latency = new LatencyRecorder(job.durationMs * 20); // room for 20 000 req/s; grows if needed
  const cpu = cpuWindow();
  const t0 = now();
  const measureFrom = t0 + job.warmupMs;
  const measureTo = measureFrom + job.durationMs;
  let outstanding = 0;

  setTimeout(() => (cpu.start(), notify('measure-start')), job.warmupMs);
  const ended = new Promise<void>((resolve) =>
    setTimeout(() => (cpu.stop(), notify('measure-end'), resolve()), job.warmupMs + job.durationMs),
  );

  const worker = () => {
    const sentAt = now();
    if (sentAt >= measureTo) return;
    outstanding++;
    const prepared = sender.send((status, body, error) => {
      outstanding--;
      const doneAt = now();
      // Throughput counts completions inside the window (a request started in warm-up may count).
      if (doneAt >= measureFrom && doneAt < measureTo) {
        tally.add(status, body, error, prepared);
        latency.record(doneAt - sentAt);
      }
      worker();
    });
  };
  for (let i = 0; i < concurrency; i++) worker();

  await ended;
  await drain(() => outstanding, job.drainMs);
  sender.close();
  return result(job, tally, latency, cpu, sender);
}

/** Open loop on an absolute timetable: slot i is at t0 + i·(1000/rate) ms. */
export async function runFixedRate(job: LoadJob): Promise<LoadResult> {
  const rate = job.rate ?? 1800;
  const interval = 1000 / rate;
  const maxInFlight = job.maxInFlight ?? rate;
  const sender = createSender(job);
  const tally = new Tally(job.checkEvery);
  const totalSlots = Math.ceil(((job.warmupMs + job.durationMs) / 1000) * rate);
  const firstMeasured = Math.ceil((job.warmupMs / 1000) * rate);
  const latency = new LatencyRecorder(totalSlots - firstMeasured + 16);
  const sendLag = new LatencyRecorder(totalSlots - firstMeasured + 16);
  const cpu = cpuWindow();
  /** Scheduled times of measured requests still in flight, for counting timeouts at the end. */
  const inFlightMeasured = new Set<number>();
  let outstanding = 0;
  let slot = 0;
  let lastDoneAt = 0;

  const t0 = now() + 20;
  const samples: FixedRateSamples | undefined = job.keepSamples
    ? { t0EpochMs: performance.timeOrigin + t0, intervalMs: interval, slot: [], latencyMs: [], ok: [] }
    : undefined;
  const sample = (i: number, latencyMs: number | null, ok: boolean) => {
    if (!samples) return;
    samples.slot.push(i);
    samples.latencyMs.push(latencyMs === null ? null : round(latencyMs));
    samples.ok.push(ok);
  };
  let finishScheduling!: () => void;
  const scheduled = new Promise<void>((resolve) => (finishScheduling = resolve));

  const dispatch = (i: number) => {
    const slotAt = t0 + i * interval;
    const measured = i >= firstMeasured;
    if (i === firstMeasured) {
      cpu.start();
      notify('measure-start');
    }
    const lag = now() - slotAt;
    if (measured) {
      sendLag.record(lag);
      if (lag > LATE_MS) tally.late++;
    }
    if (outstanding >= maxInFlight || lag > MAX_LAG_MS) {
      if (measured) {
        sample(i, null, false);
        tally.unsent++;
        tally.firstProblem ??=
          outstanding >= maxInFlight
            ? `not sent: ${maxInFlight} requests already outstanding`
            : `not sent: load generator more than ${MAX_LAG_MS} ms behind schedule`;
      }
      return;
    }
    outstanding++;
    if (measured) inFlightMeasured.add(i);
    const prepared = sender.send((status, body, error) => {
      outstanding--;
      if (!measured || !inFlightMeasured.delete(i)) return; // already counted as a timeout
      lastDoneAt = now();
      latency.record(lastDoneAt - slotAt);
      sample(i, lastDoneAt - slotAt, tally.add(status, body, error, prepared));
    });
  };

  const tick = () => {
    const t = now();
    while (slot < totalSlots && t0 + slot * interval <= t) dispatch(slot++);
    if (slot < totalSlots) setTimeout(tick, Math.max(0, t0 + slot * interval - now()));
    else finishScheduling();
  };
  setTimeout(tick, Math.max(0, t0 - now()));

  await scheduled;
  // The window is the span of measured slots; let the last one's response arrive before closing it.
  await drain(() => outstanding, job.drainMs);
  cpu.stop();
  notify('measure-end');
  const givenUpAt = now();
  for (const i of inFlightMeasured) {
    tally.timeouts++;
    tally.firstProblem ??= `request still outstanding ${job.drainMs} ms after the last slot`;
    latency.record(givenUpAt - (t0 + i * interval));
    sample(i, givenUpAt - (t0 + i * interval), false);
  }
  inFlightMeasured.clear();
  sender.close();
  const lags = sendLag.sorted();
  // Achieved rate: successes over the measured slots' span, stretched if responses came in later.
  const spanMs = Math.max(job.durationMs, lastDoneAt - (t0 + firstMeasured * interval));
  return result(job, tally, latency, cpu, sender, {
    rps: round(tally.ok / (spanMs / 1000), 1),
    windowMs: round(spanMs),
    sendLagP50Ms: round(percentile(lags, 50)),
    sendLagP99Ms: round(percentile(lags, 99)),
    sendLagMaxMs: round(percentile(lags, 100)),
    samples,
  });
}

// Entry point when forked (run.ts only imports types and constants from this module).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.once('disconnect', () => process.exit(0)); // the parent went away (or we are done)
  process.on('message', (message: unknown) => {
    if (!isMessageOfType(message, 'job')) return;
    // run.ts sends { type: 'job', job } (phase.ts).
    const { job } = message as { type: 'job'; job: LoadJob };
    const run = job.mode === 'saturation' ? runSaturation : runFixedRate;
    run(job).then(
      (loadResult) => process.send?.({ type: 'result', result: loadResult }),
      (error: Error) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
