import type { Logger } from 'pino';

/**
 * Stops a serving process once, on the first SIGINT or SIGTERM: logs `message`, runs `close` (in-flight
 * requests finish; the caller flushes its log there) and exits 0, or 1 if closing failed. `skip` lets the caller ignore
 * signals while it is already ending for another reason.
 */
export function stopOnSignals(options: { logger: Logger; message: string; close: () => Promise<void>; skip?: () => boolean }): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping || options.skip?.()) return;
    stopping = true;
    options.logger.info({ signal }, options.message);
    options.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // A terminal's Ctrl-C reaches every process of the group as SIGINT; service managers send SIGTERM.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
