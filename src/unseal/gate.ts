import { XksError } from '../xks/errors.js';
import type { XksGate } from '../xks/pipeline-ports.js';

export const SEALED_MESSAGE = 'The external key manager is sealed; it needs to be unsealed by its key custodians';

/**
 * While the node is sealed, key operations answer 500 InternalException: AWS KMS reports it as "cannot
 * communicate with the external key manager … verify that the external key manager is available" and
 * treats it as retryable, which is what a sealed node is (DependencyTimeoutException would tell callers
 * the proxy timed out, which it did not). GetHealthStatus is not gated: it answers 200 UNAVAILABLE.
 */
export function sealedGate(serving: () => boolean): XksGate {
  return () => (serving() ? undefined : new XksError('InternalException', SEALED_MESSAGE, 'node sealed'));
}
