/** An error the simulated KMS API returns to its caller. `name` is the KMS exception name. */
import type { ConnectionErrorCode } from './error-mapping.js';

export interface KmsErrorDetails {
  /** Set for store connection failures (docs/kms-client.md#connection-errors). */
  connectionErrorCode?: ConnectionErrorCode;
  /** The proxy's `errorName`, when the proxy answered with an error. KMS itself never shows this. */
  proxyErrorName?: string;
  /** Names of the KMS-side response checks that failed (validators.ts). */
  failedChecks?: string[];
}

export class KmsError extends Error {
  readonly connectionErrorCode?: ConnectionErrorCode;
  readonly proxyErrorName?: string;
  readonly failedChecks: string[];

  constructor(name: string, message: string, details: KmsErrorDetails = {}) {
    super(message);
    this.name = name;
    this.connectionErrorCode = details.connectionErrorCode;
    this.proxyErrorName = details.proxyErrorName;
    this.failedChecks = details.failedChecks ?? [];
  }
}

export function isKmsError(error: unknown, name?: string): error is KmsError {
  return error instanceof KmsError && (name === undefined || error.name === name);
}
