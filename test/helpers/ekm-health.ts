/** GetHealthStatus as the root-of-trust and unseal suites read it: the answer's status and its first EKM. */
import { field } from './json-fields.js';
import type { TestNode } from './node-harness.js';
import { healthBody, xks, type XksRequestOptions } from './xks-client.js';

export interface EkmHealthAnswer {
  status: number;
  /** The answer's body, for assertion messages. */
  text: string;
  /** How many EKMs `ekmFleetDetails` lists. */
  ekms: number;
  healthStatus: unknown;
  model: unknown;
}

export async function ekmHealth(node: TestNode, signer: XksRequestOptions['signer'] = 'kms'): Promise<EkmHealthAnswer> {
  const response = await xks(node, { operation: 'health', body: healthBody(), signer });
  const details = field(response.json, 'ekmFleetDetails');
  return {
    status: response.status,
    text: response.text,
    ekms: Array.isArray(details) ? details.length : 0,
    healthStatus: field(details, 0, 'healthStatus'),
    model: field(details, 0, 'model'),
  };
}
