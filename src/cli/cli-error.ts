/** Failures of CLI commands: one line for the operator, and the exit code that goes with it. */

/** A failure to report as one `keyhold: …` line and a non-zero exit (2 for usage errors). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A system error's code (ENOENT, EADDRINUSE…), else its message: what a one-line reason shows. */
export function errorCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return errorMessage(error);
}
