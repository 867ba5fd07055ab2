/** A login or token refusal: 401 (bad credentials) or 429 (too many failed logins). One-line message. */
export class AccessDenied extends Error {
  constructor(
    readonly status: 401 | 429,
    message: string,
  ) {
    super(message);
    this.name = 'AccessDenied';
  }
}
