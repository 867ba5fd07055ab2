/**
 * A typed message channel over a Node IPC pipe (a cluster worker's `process`, or the primary's
 * `Worker` handle): requests that are answered (with a timeout), and one-way notices. Both ends use the
 * same module; what each end may ask and tell is a type parameter (see protocol.ts), so a new message
 * (e.g. "metrics" for the primary to aggregate) is one entry in a type and one `handle` call.
 *
 * Envelopes carry `keyhold: 1`, so Node's own cluster messages on the same pipe are left alone.
 */

/** Requests one end may send: name → body it sends and the reply it gets. */
export type RequestMap = Record<string, { body: unknown; reply: unknown }>;
/** Notices one end may send: name → body. */
export type NoticeMap = Record<string, unknown>;

/** The two directions of a channel: what this end sends, what it receives. */
export interface ChannelTypes {
  sendsRequests: RequestMap;
  sendsNotices: NoticeMap;
  handlesRequests: RequestMap;
  handlesNotices: NoticeMap;
}

/** The part of `process` (in a worker) or `cluster.Worker` (in the primary) the channel needs. */
export interface IpcEndpoint {
  send(message: unknown, callback?: (error: Error | null) => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

type Envelope =
  | { keyhold: 1; kind: 'request'; id: number; type: string; body: unknown }
  | { keyhold: 1; kind: 'reply'; id: number; ok: true; body: unknown }
  | { keyhold: 1; kind: 'reply'; id: number; ok: false; error: string }
  | { keyhold: 1; kind: 'notice'; type: string; body: unknown };

const isEnvelope = (message: unknown): message is Envelope =>
  typeof message === 'object' && message !== null && 'keyhold' in message && message.keyhold === 1;

export class IpcError extends Error {}

export interface IpcChannel<T extends ChannelTypes> {
  request<K extends keyof T['sendsRequests'] & string>(
    type: K,
    body: T['sendsRequests'][K]['body'],
    options?: { timeoutMs?: number },
  ): Promise<T['sendsRequests'][K]['reply']>;
  /** Sends a notice; resolves once it is handed to the pipe (so a process may exit after it). */
  notify<K extends keyof T['sendsNotices'] & string>(type: K, body: T['sendsNotices'][K]): Promise<void>;
  /** Answers requests of one type; a thrown error is sent back as the request's rejection (its message only). */
  handle<K extends keyof T['handlesRequests'] & string>(
    type: K,
    handler: (body: T['handlesRequests'][K]['body']) => Promise<T['handlesRequests'][K]['reply']> | T['handlesRequests'][K]['reply'],
  ): void;
  onNotice<K extends keyof T['handlesNotices'] & string>(type: K, listener: (body: T['handlesNotices'][K]) => void): void;
  /** Stops listening; requests still waiting are rejected. */
  close(reason?: string): void;
}

export function createIpcChannel<T extends ChannelTypes>(
  endpoint: IpcEndpoint,
  options: { defaultTimeoutMs?: number } = {},
): IpcChannel<T> {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; timer: NodeJS.Timeout }>();
  const handlers = new Map<string, (body: unknown) => unknown>();
  const listeners = new Map<string, ((body: unknown) => void)[]>();
  let nextId = 0;
  let closed: string | undefined;

  const send = (envelope: Envelope): boolean => {
    try {
      endpoint.send(envelope);
      return true;
    } catch {
      return false; // the other end is gone; the caller's timeout or close() settles what waits
    }
  };

  const onMessage = (message: unknown) => {
    if (!isEnvelope(message)) return;
    switch (message.kind) {
      case 'reply': {
        const entry = waiting.get(message.id);
        if (!entry) return;
        waiting.delete(message.id);
        clearTimeout(entry.timer);
        if (message.ok) entry.resolve(message.body);
        else entry.reject(new IpcError(message.error));
        return;
      }
      case 'request': {
        const handler = handlers.get(message.type);
        const id = message.id;
        if (!handler) {
          send({ keyhold: 1, kind: 'reply', id, ok: false, error: `no handler for "${message.type}"` });
          return;
        }
        Promise.resolve()
          .then(() => handler(message.body))
          .then(
            (body) => send({ keyhold: 1, kind: 'reply', id, ok: true, body }),
            (error: unknown) =>
              send({ keyhold: 1, kind: 'reply', id, ok: false, error: error instanceof Error ? error.message : String(error) }),
          );
        return;
      }
      case 'notice':
        for (const listener of listeners.get(message.type) ?? []) listener(message.body);
        return;
    }
  };
  endpoint.on('message', onMessage);

  return {
    request(type, body, requestOptions) {
      if (closed) return Promise.reject(new IpcError(closed));
      const timeoutMs = requestOptions?.timeoutMs ?? defaultTimeoutMs;
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new IpcError(`no answer to "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        timer.unref();
        waiting.set(id, { resolve: resolve, reject, timer });
        if (!send({ keyhold: 1, kind: 'request', id, type, body })) {
          waiting.delete(id);
          clearTimeout(timer);
          reject(new IpcError(`could not send "${type}": the other process is gone`));
        }
      });
    },
    notify(type, body) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        try {
          endpoint.send({ keyhold: 1, kind: 'notice', type, body } satisfies Envelope, () => resolve());
        } catch {
          resolve(); // the other end is gone: nobody is left to tell
        }
      });
    },
    handle(type, handler) {
      handlers.set(type, handler);
    },
    onNotice(type, listener) {
      listeners.set(type, [...(listeners.get(type) ?? []), listener as (body: unknown) => void]);
    },
    close(reason = 'the channel is closed') {
      if (closed) return;
      closed = reason;
      endpoint.off('message', onMessage);
      for (const entry of waiting.values()) {
        clearTimeout(entry.timer);
        entry.reject(new IpcError(reason));
      }
      waiting.clear();
    },
  };
}
