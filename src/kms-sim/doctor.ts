/**
 * `keyhold doctor`: drives any XKS endpoint the way AWS KMS would, then probes what KMS cannot
 * see but a sound proxy must do (reject a wrong secret, a body changed after signing and a
 * tampered ciphertext; 405 on GET; 404 for an unknown key). An endpoint that skips
 * authentication or does no real encryption fails here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { normalizeEndpoint, uriPathFromPrefix } from './doctor-endpoint.js';
import { check, runSteps, type DoctorCheck, type DoctorStep } from './doctor-steps.js';
import { KMS_MESSAGES } from './error-mapping.js';
import { isKmsError } from './kms-error.js';
import type { CallProxyOptions, RawProxyResult } from './proxy-client.js';
import { cryptoRequestMetadata, createKeyRequestMetadata, healthRequestMetadata } from './request-metadata.js';
import { createKmsSimulator } from './simulator.js';
import type { KmsSimulator } from './simulator-api.js';
import { validateEncryptResponse, validateErrorResponse } from './validators.js';
import { decryptBody, encryptBody, healthPath, keyPath } from './xks-calls.js';

export interface DoctorOptions {
  /** `https://host[:port]`, no path. */
  endpoint: string;
  /** The part of the URI path before `/kms/xks/v1` ('' or '/' for none); a full `…/kms/xks/v1` is accepted too. */
  prefix: string;
  accessKeyId: string;
  secret: string;
  /** The external key id to test with. */
  keyId: string;
  region?: string;
  insecure?: boolean;
  /** PEM text of the CA that issued the endpoint's certificate. */
  ca?: string;
  /** PEM client certificate and key, for an endpoint with mutual TLS (what KMS presents). */
  clientCertificate?: { cert: string; key: string };
  /** Deadline per proxy attempt; KMS uses 250 ms. */
  timeoutMs?: number;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  ok: boolean;
}

function describeAnswer(result: RawProxyResult): string {
  if (result.kind === 'transport-failure') return `no answer (${result.failure}${result.code ? ` ${result.code}` : ''})`;
  const errorName = typeof result.json?.errorName === 'string' ? ` ${result.json.errorName}` : '';
  return `HTTP ${result.status}${errorName}`;
}

function hasError(result: RawProxyResult, status: number, errorName: string): boolean {
  return (
    result.kind === 'response' &&
    result.status === status &&
    validateErrorResponse(result.status, result.bodyText).value?.errorName === errorName
  );
}

export const DOCTOR_CHECK_NAMES = {
  create: 'CreateCustomKeyStore health',
  connect: 'ConnectCustomKeyStore',
  createKey: 'CreateKey (GetKeyMetadata)',
  dataKey: 'GenerateDataKey + Decrypt round trip',
  context: 'Encrypt/Decrypt with encryption context',
  wrongContext: 'Decrypt with a different encryption context fails',
  reEncrypt: 'ReEncrypt',
  cdiv: 'CDIV verified',
  wrongSecret: 'Wrong secret rejected (401)',
  alteredBody: 'Body changed after signing rejected (401)',
  tamperedCiphertext: 'Tampered ciphertext rejected (400)',
  getIs405: 'GET on an API URI is 405',
  unknownKey: 'Unknown key id is 404',
} as const;

/** The principal the proxy sees in requestMetadata during a doctor run. */
const DOCTOR_PRINCIPAL_ARN = 'arn:aws:iam::111122223333:role/keyhold-doctor';

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const uriEndpoint = normalizeEndpoint(options.endpoint);
  const uriPath = uriPathFromPrefix(options.prefix);
  const sim = createKmsSimulator({
    region: options.region ?? 'us-east-1',
    tls: {
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.clientCertificate ? { clientCertificate: options.clientCertificate } : {}),
      insecure: options.insecure ?? false,
    },
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    awsPrincipalArn: DOCTOR_PRINCIPAL_ARN,
  });
  const redact = (text: string) => (options.secret ? text.split(options.secret).join('***') : text);
  try {
    const checks = await runSteps(doctorSteps(sim, { ...options, uriEndpoint, uriPath }), redact);
    return { checks, ok: checks.every((check) => check.ok) };
  } finally {
    sim.close();
  }
}

function doctorSteps(sim: KmsSimulator, options: DoctorOptions & { uriEndpoint: string; uriPath: string }): DoctorStep[] {
  const N = DOCTOR_CHECK_NAMES;
  const credential = { accessKeyId: options.accessKeyId, secretAccessKey: options.secret };
  const proxy = sim.proxyFor({ uriEndpoint: options.uriEndpoint, uriPath: options.uriPath, credential, region: sim.state.region });
  const caller = { awsPrincipalArn: DOCTOR_PRINCIPAL_ARN };
  let storeId = '';
  let kmsKeyId = '';
  let kmsKeyArn = '';
  let contextBlob: Buffer = Buffer.alloc(0);
  const context = { purpose: 'keyhold-doctor', run: randomUUID() };
  const contextPlaintext = Buffer.from('keyhold doctor: encrypt/decrypt with encryption context');
  const lastLatency = () => `${Math.round(sim.metrics.calls.at(-1)?.latencyMs ?? 0)} ms`;

  /** A valid proxy Encrypt made directly (as KMS would, CDIV requested) for the low-level probes. */
  async function directEncrypt(plaintext: Buffer, aad: Buffer) {
    const request = { requestMetadata: cryptoRequestMetadata(caller, kmsKeyArn, 'Encrypt'), plaintext, aad, cdiv: true };
    const result = await proxy.callProxy('Encrypt', keyPath(options.keyId, 'encrypt'), encryptBody(request));
    check(result.kind === 'response' && result.status === 200, `Encrypt answered ${describeAnswer(result)}`);
    const report = validateEncryptResponse(result.json, { plaintext, aad, cdivRequested: true });
    check(report.value !== undefined, `Encrypt answer rejected: ${report.failures.map((f) => `${f.check} (${f.detail})`).join('; ')}`);
    return report.value;
  }

  /** A health request the proxy must refuse as unauthenticated (401 AuthenticationFailedException). */
  async function expectAuthenticationFailure(callOptions: CallProxyOptions): Promise<void> {
    const body = { requestMetadata: healthRequestMetadata('KmsHealthCheck') };
    const result = await proxy.callProxy('GetHealthStatus', healthPath(), body, callOptions);
    check(
      hasError(result, 401, 'AuthenticationFailedException'),
      `expected 401 AuthenticationFailedException, got ${describeAnswer(result)}`,
    );
  }

  return [
    {
      name: N.create,
      run: async () => {
        const store = await sim.createCustomKeyStore({
          name: `keyhold-doctor-${randomUUID()}`,
          uriEndpoint: options.uriEndpoint,
          uriPath: options.uriPath,
          credential,
        });
        storeId = store.id;
        return `GetHealthStatus accepted at ${options.uriEndpoint}${options.uriPath} in ${lastLatency()}`;
      },
    },
    {
      name: N.connect,
      requires: [N.create],
      run: async () => {
        const result = await sim.connectCustomKeyStore(storeId);
        check(result.connectionState === 'CONNECTED', `store is ${result.connectionState} (${result.connectionErrorCode ?? 'no code'})`);
        return `CONNECTED in ${lastLatency()}`;
      },
    },
    {
      name: N.createKey,
      requires: [N.connect],
      run: async () => {
        const key = await sim.createKey({ customKeyStoreId: storeId, xksKeyId: options.keyId });
        kmsKeyId = key.keyId;
        kmsKeyArn = key.arn;
        return `external key "${options.keyId}" is AES_256, ENABLED, ENCRYPT+DECRYPT`;
      },
    },
    {
      name: N.dataKey,
      requires: [N.createKey],
      run: async () => {
        const dataKey = await sim.generateDataKey({ keyId: kmsKeyId });
        const decrypted = await sim.decrypt({ ciphertextBlob: dataKey.ciphertextBlob });
        check(decrypted.plaintext.equals(dataKey.plaintext), 'Decrypt returned a different data key');
        return `32-byte data key wrapped and unwrapped (decrypt ${lastLatency()})`;
      },
    },
    {
      name: N.context,
      requires: [N.createKey],
      run: async () => {
        contextBlob = (await sim.encrypt({ keyId: kmsKeyId, plaintext: contextPlaintext, encryptionContext: context })).ciphertextBlob;
        const decrypted = await sim.decrypt({ ciphertextBlob: contextBlob, encryptionContext: context });
        check(decrypted.plaintext.equals(contextPlaintext), 'Decrypt returned a different plaintext');
        return 'round trip with a two-entry encryption context';
      },
    },
    {
      name: N.wrongContext,
      requires: [N.context],
      run: async () => {
        const otherContext = { ...context, purpose: 'something-else' };
        const outcome = await sim.decrypt({ ciphertextBlob: contextBlob, encryptionContext: otherContext }).then(
          () => 'decrypted' as const,
          (error: unknown) => error,
        );
        check(outcome !== 'decrypted', 'Decrypt succeeded with a different encryption context');
        if (isKmsError(outcome) && outcome.proxyErrorName === 'InvalidCiphertextException') {
          return 'the proxy rejected the other AAD with InvalidCiphertextException';
        }
        check(
          !(isKmsError(outcome) && outcome.message === KMS_MESSAGES.proxyReturnedInvalidCiphertext),
          "the proxy decrypted under a different AAD and only KMS's inner layer caught it: the AAD is not bound into AES-GCM",
        );
        throw outcome;
      },
    },
    {
      name: N.reEncrypt,
      requires: [N.context],
      run: async () => {
        const newContext = { purpose: 'keyhold-doctor-reencrypt' };
        const reEncrypted = await sim.reEncrypt({
          ciphertextBlob: contextBlob,
          sourceEncryptionContext: context,
          destinationKeyId: kmsKeyId,
          destinationEncryptionContext: newContext,
        });
        const decrypted = await sim.decrypt({ ciphertextBlob: reEncrypted.ciphertextBlob, encryptionContext: newContext });
        check(decrypted.plaintext.equals(contextPlaintext), 'the re-encrypted blob decrypts to a different plaintext');
        return 'Decrypt then Encrypt (kmsOperation ReEncrypt), result decrypts';
      },
    },
    {
      name: N.cdiv,
      requires: [N.createKey],
      run: async () => {
        const output = await directEncrypt(randomBytes(64), randomBytes(48));
        check(output.ciphertextDataIntegrityValue !== undefined, 'no ciphertextDataIntegrityValue in the answer');
        return 'ciphertextDataIntegrityValue = SHA-256(AAD‖metadata‖IV‖ciphertext‖tag)';
      },
    },
    {
      name: N.wrongSecret,
      run: async () => {
        const wrongSecret = randomBytes(32).toString('base64');
        await expectAuthenticationFailure({ credential: { accessKeyId: options.accessKeyId, secretAccessKey: wrongSecret } });
        return 'GetHealthStatus signed with another secret: 401 AuthenticationFailedException';
      },
    },
    {
      name: N.alteredBody,
      run: async () => {
        // The same health request with a new kmsRequestId, sent in place of the body that was signed.
        const swapped = () => Buffer.from(JSON.stringify({ requestMetadata: healthRequestMetadata('KmsHealthCheck') }));
        await expectAuthenticationFailure({ tamper: { bodyAfterSigning: swapped } });
        return 'a body swapped after signing: 401 AuthenticationFailedException';
      },
    },
    {
      name: N.tamperedCiphertext,
      requires: [N.createKey],
      run: async () => {
        const aad = randomBytes(32);
        const output = await directEncrypt(randomBytes(64), aad);
        const tampered = Buffer.from(output.ciphertext);
        tampered[0] = (tampered[0] ?? 0) ^ 0x01;
        const request = {
          requestMetadata: cryptoRequestMetadata(caller, kmsKeyArn, 'Decrypt'),
          ciphertext: tampered,
          initializationVector: output.initializationVector,
          authenticationTag: output.authenticationTag,
          ...(output.ciphertextMetadata ? { ciphertextMetadata: output.ciphertextMetadata } : {}),
          aad,
        };
        const result = await proxy.callProxy('Decrypt', keyPath(options.keyId, 'decrypt'), decryptBody(request));
        check(
          hasError(result, 400, 'InvalidCiphertextException'),
          `expected 400 InvalidCiphertextException, got ${describeAnswer(result)}`,
        );
        return 'one flipped ciphertext bit: 400 InvalidCiphertextException';
      },
    },
    {
      name: N.getIs405,
      run: async () => {
        const result = await proxy.callProxy('GetHealthStatus', healthPath(), Buffer.alloc(0), { method: 'GET' });
        check(result.kind === 'response' && result.status === 405, `expected 405, got ${describeAnswer(result)}`);
        return `GET ${options.uriPath}/health: 405`;
      },
    },
    {
      name: N.unknownKey,
      run: async () => {
        const missingKeyId = `keyhold-doctor-missing-${randomBytes(8).toString('hex')}`;
        const result = await proxy.callProxy('GetKeyMetadata', keyPath(missingKeyId, 'metadata'), {
          requestMetadata: createKeyRequestMetadata(caller),
        });
        check(hasError(result, 404, 'KeyNotFoundException'), `expected 404 KeyNotFoundException, got ${describeAnswer(result)}`);
        return `GetKeyMetadata for "${missingKeyId}": 404 KeyNotFoundException`;
      },
    },
  ];
}
