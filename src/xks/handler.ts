import type { Logger } from 'pino';
import type { LiveKeystore, LiveState } from '../registry/live-state.js';
import { XksError, errorBody } from './errors.js';
import { ClientAbortedError, type AnyRequest, type AnyResponse, readBody, sendJson } from './http-io.js';
import { requireKeystoreEnabled, resolveKey } from './key-checks.js';
import { decrypt } from './operations/decrypt.js';
import { encrypt } from './operations/encrypt.js';
import { getHealthStatus, type HealthFacts } from './operations/get-health-status.js';
import { getKeyMetadata } from './operations/get-key-metadata.js';
import type { RequestDecoder, RequestMetadata } from './requests.js';
import { invalidPath, parseXksPath, type XksRoute } from './route.js';
import type { createSigV4Verifier } from './sigv4.js';

export interface XksHandlerDeps {
  live: LiveState;
  verifier: ReturnType<typeof createSigV4Verifier>;
  decoder: RequestDecoder;
  healthFacts: () => Promise<HealthFacts>;
  logger: Logger;
  /** Largest body read before authentication (xks-spec.md §4: ~21 KB is the largest legitimate one). */
  maxBodyBytes?: number;
}

/** Everything the one log line of a request says (never plaintext, AAD, secrets or the Authorization header). */
interface RequestRecord {
  keystore?: string;
  xksOperation?: XksRoute['operation'];
  keyId?: string;
  keyVersion?: number;
  accessKeyId?: string;
  metadata?: RequestMetadata;
  authFailure?: string;
}

const ALLOW_POST = { allow: 'POST' };

/**
 * The XKS data plane: one function per stage, in the order of DESIGN.md §3 and xks-spec.md §8.4.
 *
 *= xks-spec.md#14.1
 *# 6. [MUST] Implement GetKeyMetadata, Encrypt, Decrypt and GetHealthStatus.
 */
export function createXksHandler({ live, verifier, decoder, healthFacts, logger, maxBodyBytes = 64 * 1024 }: XksHandlerDeps) {
  /** Stage "route": prefix → keystore, operation. */
  function route(request: AnyRequest, record: RequestRecord): { route: XksRoute; keystore: LiveKeystore } {
    const parsed = parseXksPath(request.url);
    const keystore = live.keystoreByPrefix(parsed.prefix);
    if (!keystore) throw invalidPath();
    record.keystore = keystore.keystore.name;
    record.xksOperation = parsed.operation;
    record.keyId = parsed.keyId;
    return { route: parsed, keystore };
  }

  /**
   * Stage "authenticate": SigV4 over the raw body against the keystore's live credentials.
   *
   *= xks-spec.md#14.9
   *# 79. [MUST] Require a valid SigV4 signature on all four APIs; missing or invalid → 401 `AuthenticationFailedException`.
   */
  function authenticate(request: AnyRequest, keystore: LiveKeystore, body: Buffer, record: RequestRecord): void {
    const result = verifier.verify(
      // Under HTTP/2 the verifier takes `host` from `:authority`.
      { method: request.method ?? '', path: request.url ?? '', headers: request.headers, body },
      keystore.keystore.region,
      (accessKeyId) => keystore.secrets.get(accessKeyId),
    );
    record.accessKeyId = result.accessKeyId;
    if (!result.ok) {
      record.authFailure = result.reason;
      throw new XksError('AuthenticationFailedException', 'The request signature could not be verified');
    }
  }

  function requireJsonContentType(request: AnyRequest): void {
    const contentType = request.headers['content-type'];
    if (typeof contentType !== 'string' || !/^application\/json\s*(;|$)/i.test(contentType)) {
      throw new XksError('ValidationException', 'Content-Type must be application/json');
    }
  }

  /** Stages "decode", "resolve", "check" and "crypto" for one operation. */
  async function perform(operation: XksRoute, keystore: LiveKeystore, body: Buffer, record: RequestRecord): Promise<unknown> {
    switch (operation.operation) {
      case 'GetHealthStatus': {
        // Health is never subject to secondary authorization (xks-spec.md §14.7 item 62).
        record.metadata = decoder.metadataOnly('GetHealthStatus', body).requestMetadata;
        requireKeystoreEnabled(keystore);
        return getHealthStatus(await healthFacts());
      }
      case 'GetKeyMetadata': {
        record.metadata = decoder.metadataOnly('GetKeyMetadata', body).requestMetadata;
        const key = resolveKey(live, keystore, operation.keyId!);
        requireKeystoreEnabled(keystore);
        return getKeyMetadata(key);
      }
      case 'Encrypt': {
        const request = decoder.encrypt(body);
        record.metadata = request.requestMetadata;
        const key = resolveKey(live, keystore, operation.keyId!);
        requireKeystoreEnabled(keystore);
        const { response, version } = await encrypt(key, request);
        record.keyVersion = version;
        return response;
      }
      case 'Decrypt': {
        const request = decoder.decrypt(body);
        record.metadata = request.requestMetadata;
        const key = resolveKey(live, keystore, operation.keyId!);
        requireKeystoreEnabled(keystore);
        const { plaintext, version } = await decrypt(key, request);
        record.keyVersion = version;
        const response = { plaintext: plaintext.toString('base64') };
        plaintext.fill(0);
        return response;
      }
    }
  }

  /**
   * Stage "record": one JSON log line per request.
   *
   *= xks-spec.md#14.3
   *# 22. [SHOULD] Log `kmsRequestId` for every API.
   *= xks-spec.md#14.10
   *# 96. [SHOULD] Log request metadata for every API call.
   *# 99. [SHOULD] Log per-request processing time, outcome and error.
   *= xks-spec.md#14.5
   *# 33. [MUST NOT] Log Encrypt plaintext, in the proxy or the EKM.
   *= xks-spec.md#14.6
   *# 58. [MUST NOT] Log Decrypt plaintext output.
   *= xks-spec.md#14.10
   *# 97. [MUST NOT] Log sensitive plaintext.
   */
  function logRequest(record: RequestRecord, status: number, errorName: string | undefined, detail: string | undefined, startedAt: bigint): void {
    const metadata = record.metadata;
    logger.info(
      {
        event: 'xks.request',
        keystore: record.keystore,
        xksOperation: record.xksOperation,
        keyId: record.keyId,
        keyVersion: record.keyVersion,
        accessKeyId: record.accessKeyId,
        kmsOperation: metadata?.kmsOperation,
        kmsRequestId: metadata?.kmsRequestId,
        principal: metadata?.awsPrincipalArn,
        kmsKeyArn: metadata?.kmsKeyArn,
        kmsViaService: metadata?.kmsViaService,
        awsSourceVpc: metadata?.awsSourceVpc,
        awsSourceVpce: metadata?.awsSourceVpce,
        outcome: errorName ? 'error' : 'success',
        status,
        errorName,
        reason: record.authFailure ?? detail,
        latencyMs: Number(process.hrtime.bigint() - startedAt) / 1e6,
      },
      'xks request',
    );
  }

  return async function handleXksRequest(request: AnyRequest, response: AnyResponse): Promise<void> {
    const startedAt = process.hrtime.bigint();
    const record: RequestRecord = {};
    try {
      const { route: operation, keystore } = route(request, record);
      /*= xks-spec.md#14.1
       *# 8. [MUST] HTTP GET to any of the four API URIs → 405 Method Not Allowed. */
      if (request.method !== 'POST') {
        sendJson(response, 405, { errorName: 'ValidationException', errorMessage: 'Method Not Allowed; use POST' }, ALLOW_POST);
        logRequest(record, 405, 'ValidationException', 'method not allowed', startedAt);
        return;
      }
      const body = await readBody(request, maxBodyBytes);
      authenticate(request, keystore, body, record);
      requireJsonContentType(request);
      const result = await perform(operation, keystore, body, record);
      sendJson(response, 200, result);
      logRequest(record, 200, undefined, undefined, startedAt);
    } catch (caught) {
      if (caught instanceof ClientAbortedError) {
        logger.info({ event: 'xks.request', keystore: record.keystore, xksOperation: record.xksOperation, outcome: 'aborted' }, 'xks request aborted by the client');
        return;
      }
      const error = caught instanceof XksError ? caught : new XksError('InternalException', undefined, (caught as Error)?.message);
      if (!response.headersSent) sendJson(response, error.status, errorBody(error));
      logRequest(record, error.status, error.errorName, error.detail, startedAt);
    }
  };
}
