/**
 * The XKS error model (docs/requirements.md#errors).
 *
 *= docs/requirements.md#errors
 *# 72. [MUST] An error answer is a JSON object with `errorName` and, optionally, `errorMessage`.
 *# 74. [SPEC] Each `errorName` is sent with the HTTP status the specification's error table gives it.
 */
export const XKS_ERROR_STATUS = {
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
} as const;

export type XksErrorName = keyof typeof XKS_ERROR_STATUS;

/** Whether a string is one of the specification's error names. */
export const isXksErrorName = (name: unknown): name is XksErrorName => typeof name === 'string' && Object.hasOwn(XKS_ERROR_STATUS, name);

export const XKS_ERROR_NAMES: readonly XksErrorName[] = Object.keys(XKS_ERROR_STATUS).filter(isXksErrorName);

/** A failure that maps to one XKS error answer. `detail` is for logs only and never leaves the node. */
export class XksError extends Error {
  readonly status: number;
  constructor(
    readonly errorName: XksErrorName,
    readonly publicMessage?: string,
    readonly detail?: string,
    /** Only where HTTP itself dictates the status (405 for a non-POST method). */
    status?: number,
  ) {
    super(`${errorName}${publicMessage ? `: ${publicMessage}` : ''}`);
    this.name = 'XksError';
    this.status = status ?? XKS_ERROR_STATUS[errorName];
  }
}

/**
 * A 429 ThrottlingException that sheds load (a node-wide limit, not a keystore's quota): the request is
 * refused before any policy, key or crypto work. The handler sends it without waiting for its audit
 * record to be committed (the record is still appended); see `finish` in handler.ts.
 */
export class LoadShedError extends XksError {
  constructor(publicMessage: string, detail: string) {
    super('ThrottlingException', publicMessage, detail);
    this.name = 'LoadShedError';
  }
}

/**
 *= docs/requirements.md#errors
 *# 73. [MUST] `errorMessage`, when present, is shorter than 512 characters, all printable ASCII (0x20–0x7E).
 */
export function sanitizeErrorMessage(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 511);
}

export function errorBody(error: XksError): { errorName: XksErrorName; errorMessage?: string } {
  return error.publicMessage === undefined
    ? { errorName: error.errorName }
    : { errorName: error.errorName, errorMessage: sanitizeErrorMessage(error.publicMessage) };
}
