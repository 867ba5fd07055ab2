import { invalid, notFound } from '../core/errors.js';
import type { LiveState } from '../registry/live-state.js';
import type { RequestMetadata } from '../xks/requests.js';
import { decide, type PolicyRegistry } from './authorizer.js';
import type { TraceStep } from './evaluator.js';
import type { SimulatedOperation, SimulationInput, SimulationResult } from './service.js';

const DEFAULT_KMS_OPERATION: Record<SimulatedOperation, string> = { Encrypt: 'Encrypt', Decrypt: 'Decrypt', GetKeyMetadata: 'DescribeKey' };

/** The fields of RequestMetadata a simulation may give (each a string). */
const METADATA_FIELDS = [
  'awsPrincipalArn',
  'awsSourceVpc',
  'awsSourceVpce',
  'kmsKeyArn',
  'kmsOperation',
  'kmsRequestId',
  'kmsViaService',
] as const satisfies readonly (keyof RequestMetadata)[];

const isMetadataField = (name: string): name is (typeof METADATA_FIELDS)[number] => METADATA_FIELDS.some((field) => field === name);
const isSimulatedOperation = (name: string): name is SimulatedOperation => Object.hasOwn(DEFAULT_KMS_OPERATION, name);

/** The request metadata a simulation describes, checked field by field. */
function simulatedMetadata(operation: SimulatedOperation, given: Readonly<Record<string, unknown>>): RequestMetadata {
  const metadata: RequestMetadata = { kmsRequestId: 'simulate', kmsOperation: DEFAULT_KMS_OPERATION[operation] };
  for (const [field, value] of Object.entries(given)) {
    if (!isMetadataField(field)) throw invalid(`requestMetadata.${field}: unknown field`);
    if (typeof value !== 'string') throw invalid(`requestMetadata.${field} must be a string`);
    metadata[field] = value;
  }
  return metadata;
}

/** PolicyService.simulate: the data plane's decision over the live index, for a request described by hand. */
export function simulatePolicies(live: LiveState, registry: PolicyRegistry, input: SimulationInput): SimulationResult {
  const keystore = live.keystoreByName(input.keystore);
  if (!keystore) throw notFound(`no keystore named "${input.keystore}"`);
  const key = live.key(keystore.keystore.groupId, input.keyId);
  if (!key || key.record.internal) throw notFound(`no key "${input.keyId}" in keystore "${input.keystore}"`);
  // The route's schema allows only these; other callers are checked here.
  const operation: string = input.operation;
  if (!isSimulatedOperation(operation)) throw invalid('operation must be Encrypt, Decrypt or GetKeyMetadata');
  const metadata = simulatedMetadata(operation, input.requestMetadata ?? {});
  const trace: TraceStep[] = [];
  const decision = decide(
    registry.current,
    { groupId: key.record.groupId, keystoreId: keystore.keystore.id, keyId: key.record.id },
    metadata,
    trace,
  );
  return {
    allowed: decision.allowed,
    decidedBy: decision.decidedBy,
    ...(decision.policy ? { policy: decision.policy } : {}),
    ...(decision.wouldDeny ? { wouldDeny: true, wouldDenyBy: decision.wouldDenyBy } : {}),
    trace,
  };
}
