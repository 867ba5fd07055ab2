import { destination, pino, type Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** A file path, or standard output when absent. */
  file?: string;
  /**
   * Set under `serve --workers N`: which process logs (a worker's number, or `primary`). Every line then
   * carries `worker` and `pid`, and each write holds whole lines and at most PIPE_BUF (4 KiB) bytes, so
   * lines written by several processes to one pipe or file never interleave.
   */
  worker?: number | 'primary';
}

/** Linux PIPE_BUF: a write of at most this many bytes to a pipe is atomic. */
const PIPE_BUF = 4096;

/**
 * The node's JSON logger. Writes are buffered and asynchronous (one write per ~4 KiB rather than per
 * request line), which keeps logging off the request's critical path; call `flushLogger` before exit.
 */
export function createLogger({ level, file, worker }: LoggerOptions): Logger {
  const shared = worker !== undefined;
  return pino(
    { level, base: shared ? { service: 'keyhold', worker, pid: process.pid } : { service: 'keyhold' } },
    destination({ dest: file ?? 1, sync: false, minLength: shared ? PIPE_BUF / 2 : 4096, ...(shared ? { maxWrite: PIPE_BUF } : {}) }),
  );
}

export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
