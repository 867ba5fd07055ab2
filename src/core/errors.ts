/** Failures of management operations, each with a one-line message an operator can act on. */
export type ManagementErrorKind = 'invalid' | 'not-found' | 'conflict';

export class ManagementError extends Error {
  constructor(
    readonly kind: ManagementErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ManagementError';
  }
}

export const invalid = (message: string) => new ManagementError('invalid', message);
export const notFound = (message: string) => new ManagementError('not-found', message);
export const conflict = (message: string) => new ManagementError('conflict', message);
