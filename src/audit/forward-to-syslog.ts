import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from 'pino';
import { coalescing } from '../core/coalescing.js';
import type { AuditStore } from './audit-store.js';
import { frame, syslogMessage } from './syslog-format.js';
import type { SyslogForwarder, SyslogTarget } from './syslog-forwarder.js';

export interface SyslogForwarderOptions {
  audit: AuditStore;
  chain: string;
  target: SyslogTarget;
  logger: Logger;
  /** Poll for new events at least this often (commits also wake it). */
  pollMs?: number;
  /** Events written on a connection that has stayed up this long count as delivered (cursor persisted). */
  ackDelayMs?: number;
  /** Reconnect backoff, doubling from min to max. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Forwards the node's chain to a syslog collector in sequence order, from the database, with a
 * persisted cursor. TCP gives no application acknowledgement, so an event counts as delivered once
 * it was written on a connection that stayed up for ackDelayMs afterwards; when a connection drops,
 * forwarding resumes from the persisted cursor. Nothing is lost across a collector restart, and
 * duplicates (same chain and seq) are at most the events of the last ackDelayMs.
 */
export async function startSyslogForwarder(options: SyslogForwarderOptions): Promise<SyslogForwarder> {
  const { audit, chain, target, logger } = options;
  const pollMs = options.pollMs ?? 1000;
  const ackDelayMs = options.ackDelayMs ?? 1000;
  const minBackoff = options.minBackoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 10_000;

  let persisted = (await audit.getChain(chain))?.forwardedSeq ?? 0;
  let sent = persisted;
  /** Sent position at the previous ack tick, on the current connection. */
  let sentAtTick: number | undefined;
  let socket: Socket | undefined;
  let connecting = false;
  let backoff = minBackoff;
  let stopped = false;
  let forwarded = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let warned = false;

  function connect(): void {
    if (stopped || socket || connecting) return;
    connecting = true;
    const onConnected = () => {
      connecting = false;
      backoff = minBackoff;
      warned = false;
      socket = s;
      sentAtTick = undefined;
      logger.info({ event: 'audit.syslog_connected', host: target.host, port: target.port }, 'forwarding audit events to syslog');
      void pump();
    };
    const s =
      target.protocol === 'tls'
        ? tlsConnect({ host: target.host, port: target.port, ca: target.ca, servername: target.host }, onConnected)
        : netConnect({ host: target.host, port: target.port }, onConnected);
    s.setNoDelay(true);
    s.on('error', (error: Error) => {
      // Once per outage, not once per retry.
      if (warned) return;
      warned = true;
      logger.warn(
        { event: 'audit.syslog_unreachable', target: `${target.protocol}://${target.host}:${target.port}`, reason: error.message },
        'syslog collector unreachable; retrying, nothing is lost',
      );
    });
    s.on('data', () => {});
    s.once('close', () => {
      connecting = false;
      if (socket === s) socket = undefined;
      // What was written on this connection but not yet counted as delivered is sent again.
      sent = persisted;
      sentAtTick = undefined;
      if (stopped) return;
      reconnectTimer = setTimeout(connect, backoff);
      reconnectTimer.unref();
      backoff = Math.min(backoff * 2, maxBackoff);
    });
  }

  /** Sends what the collector has not had yet, while connected; a call during a pass gets one more pass. */
  const pump = coalescing(async () => {
    try {
      for (let current = socket; current && !stopped; current = socket) {
        const events = await audit.chainEvents(chain, sent, 500);
        const last = events.at(-1);
        // Nothing new, or the connection changed meanwhile (the next pass reads again from the reset cursor).
        if (last === undefined || current.destroyed || socket !== current) break;
        const ok = current.write(Buffer.concat(events.map((e) => frame(syslogMessage(e)))));
        sent = last.seq;
        forwarded += events.length;
        if (!ok)
          await new Promise<void>((resolve) => {
            current.once('drain', resolve);
            current.once('close', resolve);
          });
      }
    } catch (error) {
      logger.warn({ event: 'audit.syslog_failed', err: error }, 'syslog forwarding paused');
    }
  });

  async function ackTick(): Promise<void> {
    if (!socket) return;
    if (sentAtTick !== undefined && sentAtTick > persisted) {
      const delivered = sentAtTick;
      try {
        await audit.setForwarded(chain, delivered);
        // Only a stored cursor counts: status() and a reconnect resume from what the database holds.
        persisted = Math.max(persisted, delivered);
      } catch {
        // Persisted on the next tick.
      }
    }
    sentAtTick = sent;
  }

  const poll = setInterval(() => void pump(), pollMs);
  poll.unref();
  const ack = setInterval(() => void ackTick(), ackDelayMs);
  ack.unref();
  connect();

  return {
    /** Wakes the forwarder (called after each commit). */
    wake(): void {
      if (socket) void pump();
    },
    status() {
      return {
        target: `${target.protocol}://${target.host}:${target.port}`,
        connected: Boolean(socket),
        forwardedSeq: persisted,
        sentSeq: sent,
        forwardedThisRun: forwarded,
      };
    },
    stop(): Promise<void> {
      stopped = true;
      clearInterval(poll);
      clearInterval(ack);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      socket?.end();
      socket?.destroy();
      return Promise.resolve();
    },
  };
}
