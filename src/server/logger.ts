import { destination, pino, type Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** A file path, or standard output when absent. */
  file?: string;
}

/**
 * The node's JSON logger. Writes are buffered and asynchronous (one write per ~4 KiB rather than per
 * request line), which keeps logging off the request's critical path; call `flushLogger` before exit.
 */
export function createLogger({ level, file }: LoggerOptions): Logger {
  return pino({ level, base: { service: 'keyhold' } }, destination({ dest: file ?? 1, sync: false, minLength: 4096 }));
}

export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
