/**
 * The composition root: a simulated AWS KMS that talks to any XKS proxy over the wire.
 *
 *   const sim = createKmsSimulator({ region: 'us-east-1', tls: { ca } });
 *   const store = await sim.createCustomKeyStore({ name, uriEndpoint: 'https://localhost:8443',
 *     uriPath: '/demo/kms/xks/v1', credential: { accessKeyId, secretAccessKey } });
 *   await sim.connectCustomKeyStore(store.id);
 *   const key = await sim.createKey({ customKeyStoreId: store.id, xksKeyId: 'my-key' });
 *   const { ciphertextBlob } = await sim.encrypt({ keyId: key.keyId, plaintext });
 *   sim.close();
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { findStore, proxyTarget, type SimulatorContext } from './context.js';
import { createCryptoOperations } from './crypto-operations.js';
import { createKeyOperations } from './key-operations.js';
import { createKeyStoreOperations } from './key-store-operations.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { createProxyClient, type ProxyClient, type ProxyTarget } from './proxy-client.js';
import { createKmsSigner } from './signer.js';
import { createSimulatorState, type SimulatorState } from './state.js';
import type { BoundProxy, ConformanceWarning, KmsSimulator } from './simulator-api.js';
import { createHttpsTransport, DEFAULT_DEADLINE_MS, type ProxyTransport, type TlsOptions } from './transport.js';
import { createXksCaller, type XksCaller } from './xks-calls.js';

export interface KmsSimulatorOptions {
  accountId?: string;
  region?: string;
  clock?: Clock;
  tls?: TlsOptions;
  /** Deadline per proxy attempt (connect + TLS + response); KMS uses 250 ms. */
  timeoutMs?: number;
  /** The principal the proxy sees in requestMetadata. */
  awsPrincipalArn?: string;
  kmsViaService?: string;
  /** Ask for a CDIV on Encrypt-like calls by default (true). */
  ciphertextDataIntegrityByDefault?: boolean;
  /** Send `additionalAuthenticatedData` to the proxy (true); false tests the field-absent mode. */
  sendAdditionalAuthenticatedData?: boolean;
  /** Reject unknown response fields instead of warning about them. */
  strictResponses?: boolean;
  randomBytes?: (size: number) => Buffer;
  /** Replace the HTTPS transport (then `tls` and `timeoutMs` are not used). */
  transport?: ProxyTransport;
  metrics?: ProxyMetrics;
}

export function createKmsSimulator(options: KmsSimulatorOptions = {}): KmsSimulator {
  const clock = options.clock ?? systemClock;
  const state: SimulatorState = createSimulatorState(options.accountId ?? '111122223333', options.region ?? 'us-east-1');
  const metrics = options.metrics ?? createProxyMetrics();
  const transport = options.transport ?? createHttpsTransport({ tls: options.tls, deadlineMs: options.timeoutMs ?? DEFAULT_DEADLINE_MS });
  const client: ProxyClient = createProxyClient({ transport, sign: createKmsSigner(clock), metrics });
  const conformanceWarnings: ConformanceWarning[] = [];
  const xks: XksCaller = createXksCaller({
    client,
    metrics,
    validation: { strict: options.strictResponses ?? false },
    onWarning: (warning) => void conformanceWarnings.push(warning),
  });
  const context: SimulatorContext = {
    state,
    xks,
    clock,
    randomBytes: options.randomBytes ?? nodeRandomBytes,
    caller: {
      awsPrincipalArn: options.awsPrincipalArn ?? `arn:aws:iam::${state.accountId}:role/kms-simulator`,
      ...(options.kmsViaService !== undefined ? { kmsViaService: options.kmsViaService } : {}),
    },
    cdivByDefault: options.ciphertextDataIntegrityByDefault ?? true,
    sendAad: options.sendAdditionalAuthenticatedData ?? true,
  };

  function proxyFor(storeIdOrTarget: string | ProxyTarget): BoundProxy {
    const target = typeof storeIdOrTarget === 'string' ? proxyTarget(state, findStore(state, storeIdOrTarget)) : storeIdOrTarget;
    return {
      target,
      callProxy: (operation, path, body, callOptions) => client.callProxy(target, operation, path, body, callOptions),
    };
  }

  return {
    state,
    metrics,
    conformanceWarnings,
    ...createKeyStoreOperations(context),
    ...createKeyOperations(context),
    ...createCryptoOperations(context),
    proxyFor,
    close: () => transport.close(),
  };
}
