/** Where the audit log is forwarded: the syslog target and the forwarder's interface. */
export interface SyslogTarget {
  protocol: 'tcp' | 'tls';
  host: string;
  port: number;
  /** PEM CA certificate(s) for tls:// (default: the system's). */
  ca?: Buffer;
}

/** Parses `tcp://host:port` or `tls://host:port`. */
export function parseSyslogUrl(url: string, ca?: Buffer): SyslogTarget {
  const match = /^(tcp|tls):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(url.trim());
  const [, protocol, host, port] = match ?? [];
  if ((protocol !== 'tcp' && protocol !== 'tls') || host === undefined || !(Number(port) >= 1 && Number(port) <= 65535))
    throw new Error(`invalid syslog target "${url}": expected tcp://host:port or tls://host:port`);
  return { protocol, host: host.replace(/^\[|\]$/g, ''), port: Number(port), ca };
}

/** What the forwarder reports in the audit status (`keyhold audit status`). */
export interface SyslogForwarderStatus {
  /** `tcp://host:port` or `tls://host:port`. */
  target: string;
  connected: boolean;
  /** The last event counted as delivered (persisted: forwarding resumes after it). */
  forwardedSeq: number;
  /** The last event written to the current connection. */
  sentSeq: number;
  forwardedThisRun: number;
}

/**
 * Forwards the node's audit chain to a syslog collector (RFC 5424 over TCP or TLS, RFC 6587 framing) in
 * sequence order, from the database, with a persisted cursor: nothing is lost across a collector
 * restart. startSyslogForwarder (forward-to-syslog.ts) starts one.
 */
export interface SyslogForwarder {
  /** Wakes the forwarder (called after each commit). */
  wake(): void;
  status(): SyslogForwarderStatus;
  /** Stops forwarding and closes the connection. */
  stop(): Promise<void>;
}
