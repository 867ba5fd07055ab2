import type { Logger } from 'pino';
import type { LiveKey, LiveKeystore, LiveState } from '../registry/live-state.js';
import { RootTimeoutError } from '../roots/root-of-trust.js';
import { authenticate, requireJsonContentType } from './authenticate.js';
import { authorize } from './authorize.js';
import { checkKeyOperation, requireKeystoreEnabled } from './check.js';
import { XksError, errorBody } from './errors.js';
import { ClientAbortedError, type AnyRequest, type AnyResponse, readBody, sendJson } from './http-io.js';
import { decrypt, versionToDecrypt, type DecryptResponse } from './operations/decrypt.js';
import { encrypt, type EncryptResponse } from './operations/encrypt.js';
import { getHealthStatus, type HealthStatusResponse } from './operations/get-health-status.js';
import { getKeyMetadata, type KeyMetadataResponse } from './operations/get-key-metadata.js';
import {
  admitAll,
  allowAll,
  recordNothing,
  type XksAdmission,
  type XksAdmissionTicket,
  type XksAuthorizer,
  type XksGate,
  type XksHealthFacts,
  type XksObserver,
  type XksRecorder,
} from './pipeline-ports.js';
import { createRecordStage } from './record.js';
import type { XksRequestLog } from './request-log.js';
import type { XksRequestRecord } from './request-record.js';
import type { RequestDecoder } from './request-decoder.js';
import type { RequestMetadata } from './requests.js';
import { resolveKey } from './resolve.js';
import { invalidPath, parseXksPath, type KeyRoute, type XksOperation, type XksRoute } from './route.js';
import type { SigV4Verifier } from './sigv4-verifier.js';

export interface XksHandlerDeps {
  /** Keystores (by prefix, with their live SigV4 secrets) and keys (with their opened versions), in memory. */
  live: LiveState;
  verifier: SigV4Verifier;
  decoder: RequestDecoder;
  healthFacts: XksHealthFacts;
  logger: Logger;
  /** Secondary authorization (policies); allows everything when absent. */
  authorizer?: XksAuthorizer;
  /** Where each answered request is recorded (audit) before its response is sent. */
  recorder?: XksRecorder;
  /** Node-wide conditions under which no key can be looked up (a sealed root), asked by "resolve". */
  availabilityGates?: readonly XksGate[];
  /** Node-wide refusals of key operations (the kill switch), asked by "check". */
  refusalGates?: readonly XksGate[];
  /** Load shedding and per-keystore quotas (429 ThrottlingException); admits everything when absent. */
  admission?: XksAdmission;
  /** Told about each answered request once its response is sent (metrics). */
  observers?: readonly XksObserver[];
  /** Which requests get a log line (request-log.ts); default `all`. */
  requestLog?: XksRequestLog;
  /** Largest body read before authentication (docs/requirements.md#limits: ~21 KB is the largest legitimate one). */
  maxBodyBytes?: number;
}

/** The XKS data plane as a Node request listener (HTTP/1.1 or HTTP/2 compatibility API). */
export type XksRequestHandler = (request: AnyRequest, response: AnyResponse) => Promise<void>;

/** The 200 body of each operation. */
type XksResponseBody = HealthStatusResponse | KeyMetadataResponse | EncryptResponse | DecryptResponse;

const ALLOW_POST = { allow: 'POST' };

/**
 * The XKS data plane: one named function per stage, in the order of docs/architecture.md#encrypt-path and docs/requirements.md#error-order:
 * route → (method) → admit → authenticate → decode → resolve → authorize → check → crypto → record.
 *
 *= docs/requirements.md#transport
 *# 6. [MUST] All four operations exist: GetKeyMetadata, Encrypt, Decrypt and GetHealthStatus.
 */
export function createXksHandler({
  live,
  verifier,
  decoder,
  healthFacts,
  logger,
  authorizer = allowAll,
  recorder = recordNothing,
  availabilityGates = [],
  refusalGates = [],
  admission = admitAll,
  observers = [],
  requestLog = 'all',
  maxBodyBytes = 64 * 1024,
}: XksHandlerDeps): XksRequestHandler {
  const recordStage = createRecordStage({ recorder, observers, logger, requestLog });

  /** Stage "route": prefix → keystore, and the operation (with its key id) the path names. */
  function route(request: AnyRequest, record: XksRequestRecord): { route: XksRoute; keystore: LiveKeystore } {
    const parsed = parseXksPath(request.url);
    const keystore = live.keystoreByPrefix(parsed.prefix);
    if (!keystore) throw invalidPath();
    record.keystore = keystore.keystore.name;
    record.keystoreId = keystore.keystore.id;
    record.groupId = keystore.keystore.groupId;
    record.xksOperation = parsed.operation;
    if (parsed.operation !== 'GetHealthStatus') record.keyId = parsed.keyId;
    return { route: parsed, keystore };
  }

  /**
   *= docs/requirements.md#transport
   *# 8. [MUST] A GET on any of the four API URIs is answered 405 Method Not Allowed.
   */
  function requirePost(request: AnyRequest): void {
    if (request.method !== 'POST') throw new XksError('ValidationException', 'Method Not Allowed; use POST', 'method not allowed', 405);
  }

  /** Stage "admit": quotas and load shedding, before the body is read (a 429 costs almost nothing). */
  function admit(request: AnyRequest, keystore: LiveKeystore, operation: XksOperation): XksAdmissionTicket {
    const admitted = admission.admit({ keystore, operation });
    if (admitted instanceof XksError) {
      // Discard the unread body: under HTTP/2 unread data would hold the connection's flow-control window,
      // stalling the bodies of the requests that were admitted on the same connection.
      request.resume();
      throw admitted;
    }
    return admitted;
  }

  /** Stages "resolve", "authorize" and "check" of a key operation: the key it may use. */
  function keyFor(
    target: KeyRoute,
    keystore: LiveKeystore,
    metadata: RequestMetadata,
    record: XksRequestRecord,
    cdivRequested = false,
  ): LiveKey {
    record.metadata = metadata;
    const key = resolveKey(live, availabilityGates, target.operation, keystore, target.keyId);
    authorize(authorizer, target.operation, keystore, key, metadata, record);
    checkKeyOperation(refusalGates, target.operation, keystore, key, cdivRequested);
    return key;
  }

  /** Stages "decode" to "crypto" of one operation; returns its 200 body. */
  async function perform(target: XksRoute, keystore: LiveKeystore, body: Buffer, record: XksRequestRecord): Promise<XksResponseBody> {
    switch (target.operation) {
      case 'GetHealthStatus': {
        // No resolve, authorize or key check: health names no key (docs/requirements.md#health item 62).
        record.metadata = decoder.metadataOnly('GetHealthStatus', body).requestMetadata;
        requireKeystoreEnabled(keystore);
        return getHealthStatus(await healthFacts());
      }
      case 'GetKeyMetadata': {
        const request = decoder.metadataOnly('GetKeyMetadata', body);
        return getKeyMetadata(keyFor(target, keystore, request.requestMetadata, record));
      }
      case 'Encrypt': {
        const request = decoder.encrypt(body);
        const key = keyFor(target, keystore, request.requestMetadata, record, request.cdivRequested);
        const version = key.record.currentVersion;
        const response = await encrypt(key, version, request);
        record.keyVersion = version;
        return response;
      }
      case 'Decrypt': {
        const request = decoder.decrypt(body);
        const key = keyFor(target, keystore, request.requestMetadata, record);
        const version = versionToDecrypt(key, request.ciphertextMetadata);
        const response = await decrypt(key, version, request);
        record.keyVersion = version;
        return response;
      }
    }
  }

  /**
   * Runs the stages up to "crypto" for one request and answers it; the answer, its log line and its
   * metrics all carry the status the recorder left final. The admission ticket is held until the answer
   * is recorded: waiting for the audit commit is load too.
   */
  async function answer(request: AnyRequest, response: AnyResponse, record: XksRequestRecord): Promise<void> {
    let ticket: XksAdmissionTicket | undefined;
    let result: XksResponseBody | undefined;
    let failure: XksError | undefined;
    try {
      try {
        const { route: target, keystore } = route(request, record);
        requirePost(request);
        ticket = admit(request, keystore, target.operation);
        const body = await readBody(request, maxBodyBytes);
        authenticate(verifier, request, keystore, body, record);
        requireJsonContentType(request);
        const late = ticket.stillWorthIt?.();
        if (late) throw late;
        result = await perform(target, keystore, body, record);
      } catch (caught) {
        if (caught instanceof ClientAbortedError) {
          recordStage.logAborted(record);
          return;
        }
        failure = caught instanceof XksError ? caught : rootFailure(caught);
      }
      failure = await recordStage.commit(record, failure);
      recordStage.log(record);
      if (response.headersSent) return;
      if (failure) sendJson(response, failure.status, errorBody(failure), failure.status === 405 ? ALLOW_POST : undefined);
      else sendJson(response, 200, result);
    } finally {
      ticket?.release();
    }
  }

  return async function handleXksRequest(request: AnyRequest, response: AnyResponse): Promise<void> {
    const record: XksRequestRecord = { startedAt: process.hrtime.bigint() };
    await answer(request, response, record);
    if (record.status !== undefined) recordStage.observe(record);
  };
}

/** A failure of the root of trust: a deadline missed is retryable (503); anything else is an internal error. */
function rootFailure(caught: unknown): XksError {
  if (caught instanceof RootTimeoutError) {
    return new XksError('DependencyTimeoutException', 'The key manager did not answer in time', caught.message);
  }
  return new XksError('InternalException', undefined, caught instanceof Error ? caught.message : undefined);
}
