import pg from 'pg';

/** What a LISTEN connection tells its owner. */
export interface ListenerHandlers {
  /** A notification on the channel, with its payload. */
  onNotification(payload: string): void;
  /** The connection is (again) listening: notifications sent before this moment may have been missed. */
  onUp(): void;
  /** The connection was lost or could not be opened; it is retried every `retryMs`. One line, no secret. */
  onDown(reason: string): void;
}

export interface PgListener {
  /** Whether the connection is listening now. */
  listening(): boolean;
  /** Closes the connection and stops retrying. */
  close(): Promise<void>;
}

/**
 * A dedicated PostgreSQL connection that LISTENs on one channel (pooled connections cannot: a pool hands
 * each query to any client). Lost connections are reopened every `retryMs` until `close`.
 */
export function listenToChannel(options: { url: string; channel: string; handlers: ListenerHandlers; retryMs?: number }): PgListener {
  const { url, channel, handlers } = options;
  const retryMs = options.retryMs ?? 1_000;
  let client: pg.Client | undefined;
  let up = false;
  let closed = false;
  /** A function, so a check after an await reads the flag as it is then. */
  const isClosed = () => closed;
  let retry: NodeJS.Timeout | undefined;
  /** Set once an outage is reported, so a listener that stays down reports it once. */
  let reportedDown = false;

  const down = (reason: string) => {
    up = false;
    const lost = client;
    client = undefined;
    lost?.removeAllListeners();
    lost?.on('error', () => {});
    lost?.end().catch(() => undefined);
    if (isClosed()) return;
    if (!reportedDown) {
      reportedDown = true;
      handlers.onDown(reason);
    }
    retry ??= setTimeout(() => {
      retry = undefined;
      void connect();
    }, retryMs);
    retry.unref();
  };

  const connect = async () => {
    if (isClosed()) return;
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, keepAlive: true });
    client = next;
    next.on('error', (error) => down(reasonOf(error)));
    next.on('end', () => {
      if (client === next) down('connection closed');
    });
    next.on('notification', (message) => {
      if (message.channel === channel) handlers.onNotification(message.payload ?? '');
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${next.escapeIdentifier(channel)}`);
      if (isClosed() || client !== next) return;
      up = true;
      reportedDown = false;
      handlers.onUp();
    } catch (error) {
      if (client === next) down(reasonOf(error));
    }
  };

  void connect();
  return {
    listening: () => up,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      up = false;
      const open = client;
      client = undefined;
      open?.removeAllListeners();
      open?.on('error', () => {});
      await open?.end().catch(() => undefined);
    },
  };
}

/** A driver error as one line: its code and message, never the connection string. */
function reasonOf(error: unknown): string {
  if (error instanceof Error) {
    const code = 'code' in error && typeof error.code === 'string' ? `${error.code}: ` : '';
    return `${code}${error.message}`.replace(/postgres(ql)?:\/\/\S+/gi, 'postgres://…');
  }
  return String(error);
}
