/** A backup, restore or migration that cannot go on: one line for the operator; nothing was written. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}
