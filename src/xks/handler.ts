import type { Logger } from 'pino';
import type { LiveKeystore, LiveState } from '../registry/live-state.js';
import { RootTimeoutError } from '../roots/root-of-trust.js';
import { LoadShedError, XksError, errorBody } from './errors.js';
import { ClientAbortedError, type AnyRequest, type AnyResponse, readBody, sendJson } from './http-io.js';
import { requireKeystoreEnabled, resolveKey } from './key-checks.js';
import { decrypt } from './operations/decrypt.js';
import { encrypt } from './operations/encrypt.js';
import { getHealthStatus, type HealthFacts } from './operations/get-health-status.js';
import { getKeyMetadata } from './operations/get-key-metadata.js';
import {
  admitAll,
  allowAll,
  recordNothing,
  type XksAdmission,
  type XksAdmissionTicket,
  type XksAuthorizer,
  type XksGate,
  type XksObserver,
  type XksRecorder,
} from './pipeline-ports.js';
import type { XksRequestRecord } from './request-record.js';
import type { RequestDecoder, RequestMetadata } from './requests.js';
import { invalidPath, parseXksPath, type XksOperation, type XksRoute } from './route.js';
import type { createSigV4Verifier } from './sigv4.js';
import type { LiveKey } from '../registry/live-state.js';

export interface XksHandlerDeps {
  live: LiveState;
  verifier: ReturnType<typeof createSigV4Verifier>;
  decoder: RequestDecoder;
  healthFacts: () => Promise<HealthFacts>;
  logger: Logger;
  /** Secondary authorization (policies); allows everything when absent. */
  authorizer?: XksAuthorizer;
  /** Where each answered request is recorded (audit) before its response is sent. */
  recorder?: XksRecorder;
  /** Node-wide conditions that stop key operations (sealed root, kill switch). */
  gates?: readonly XksGate[];
  /** Load shedding and per-keystore quotas (429 ThrottlingException); admits everything when absent. */
  admission?: XksAdmission;
  /** Told about each answered request once its response is sent (metrics). */
  observers?: readonly XksObserver[];
  /** Largest body read before authentication (xks-spec.md §4: ~21 KB is the largest legitimate one). */
  maxBodyBytes?: number;
}

type RequestRecord = XksRequestRecord;
type KeyOperation = Exclude<XksOperation, 'GetHealthStatus'>;

const ALLOW_POST = { allow: 'POST' };

/**
 * The XKS data plane: one function per stage, in the order of DESIGN.md §3 and xks-spec.md §8.4.
 *
 *= xks-spec.md#14.1
 *# 6. [MUST] Implement GetKeyMetadata, Encrypt, Decrypt and GetHealthStatus.
 */
export function createXksHandler({
  live,
  verifier,
  decoder,
  healthFacts,
  logger,
  authorizer = allowAll,
  recorder = recordNothing,
  gates = [],
  admission = admitAll,
  observers = [],
  maxBodyBytes = 64 * 1024,
}: XksHandlerDeps) {
  /** Stage "route": prefix → keystore, operation. */
  function route(request: AnyRequest, record: RequestRecord): { route: XksRoute; keystore: LiveKeystore } {
    const parsed = parseXksPath(request.url);
    const keystore = live.keystoreByPrefix(parsed.prefix);
    if (!keystore) throw invalidPath();
    record.keystore = keystore.keystore.name;
    record.keystoreId = keystore.keystore.id;
    record.groupId = keystore.keystore.groupId;
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

  /** Node-wide conditions (sealed root, kill switch) stop key operations before a key is touched. */
  function passGates(operation: KeyOperation, keystore: LiveKeystore): void {
    for (const gate of gates) {
      const error = gate(operation, keystore);
      if (error) throw error;
    }
  }

  /**
   * Stage "resolve" then "authorize": key id → key, then policy over requestMetadata.
   * A denying rule answers 403 AccessDeniedException and is named in the record.
   */
  function resolveAndAuthorize(
    operation: KeyOperation,
    keystore: LiveKeystore,
    keyId: string,
    metadata: RequestMetadata,
    record: RequestRecord,
  ): LiveKey {
    passGates(operation, keystore);
    const key = resolveKey(live, keystore, keyId);
    const decision = authorizer.authorize({ keystore, key, operation, metadata });
    record.policyRuleId = decision.ruleId;
    record.policyWouldDeny = decision.wouldDeny;
    if (!decision.allowed)
      throw new XksError('AccessDeniedException', "The request was denied by the external key manager's policy", decision.detail);
    return key;
  }

  /** Stages "decode", "resolve", "authorize", "check" and "crypto" for one operation. */
  async function perform(operation: XksRoute, keystore: LiveKeystore, body: Buffer, record: RequestRecord): Promise<unknown> {
    switch (operation.operation) {
      case 'GetHealthStatus': {
        /*= xks-spec.md#14.7
         *# 62. [MUST] Exclude `/health` from secondary authorization; it must pass even with a deny-all policy.
         * (No authorize stage here: the authorizer is only ever asked about key operations.) */
        record.metadata = decoder.metadataOnly('GetHealthStatus', body).requestMetadata;
        requireKeystoreEnabled(keystore);
        return getHealthStatus(await healthFacts());
      }
      case 'GetKeyMetadata': {
        record.metadata = decoder.metadataOnly('GetKeyMetadata', body).requestMetadata;
        const key = resolveAndAuthorize('GetKeyMetadata', keystore, operation.keyId!, record.metadata, record);
        requireKeystoreEnabled(keystore);
        return getKeyMetadata(key);
      }
      case 'Encrypt': {
        const request = decoder.encrypt(body);
        record.metadata = request.requestMetadata;
        const key = resolveAndAuthorize('Encrypt', keystore, operation.keyId!, record.metadata, record);
        requireKeystoreEnabled(keystore);
        const { response, version } = await encrypt(key, request);
        record.keyVersion = version;
        return response;
      }
      case 'Decrypt': {
        const request = decoder.decrypt(body);
        record.metadata = request.requestMetadata;
        const key = resolveAndAuthorize('Decrypt', keystore, operation.keyId!, record.metadata, record);
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
  function logRequest(record: RequestRecord): void {
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
        outcome: record.errorName ? 'error' : 'success',
        status: record.status,
        errorName: record.errorName,
        reason: record.authFailure ?? record.detail,
        policyRuleId: record.policyRuleId,
        policyWouldDeny: record.policyWouldDeny,
        latencyMs: Number(process.hrtime.bigint() - record.startedAt) / 1e6,
      },
      'xks request',
    );
  }

  /** Stage "record": log line, then the recorder (audit), which in durable mode commits before the response goes out. */
  async function finish(record: RequestRecord, status: number, error?: XksError): Promise<void> {
    record.status = status;
    record.errorName = error?.errorName;
    record.detail = error?.detail;
    logRequest(record);
    const recorded = recorder.record(record);
    if (error instanceof LoadShedError) {
      // A load-shedding 429 (node-wide limit or overload; never a quota, a policy denial or anything that
      // touched a key) is answered without waiting for its audit commit: no work was done, so all a crash
      // could lose is the record of a refusal, while waiting would keep the node busy with a request it
      // refused because it is too busy. The event is still appended; a failure to record it is logged.
      Promise.resolve(recorded).catch((recordError: unknown) => logRecordFailed(record, recordError));
      return;
    }
    await recorded;
  }

  function logRecordFailed(record: RequestRecord, recordError: unknown): void {
    logger.error({ event: 'xks.record_failed', err: recordError, keystore: record.keystore }, 'could not record an XKS request');
  }

  /** Answers with `error` after recording it; a record that cannot be written is logged, the answer still goes out. */
  async function answerError(
    response: AnyResponse,
    record: RequestRecord,
    error: XksError,
    headers?: Record<string, string>,
  ): Promise<void> {
    try {
      await finish(record, error.status, error);
    } catch (recordError) {
      logRecordFailed(record, recordError);
    }
    if (!response.headersSent) sendJson(response, error.status, errorBody(error), headers);
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

  function observe(record: RequestRecord): void {
    if (observers.length === 0) return;
    const latencyMs = Number(process.hrtime.bigint() - record.startedAt) / 1e6;
    for (const observer of observers) observer.observe(record, latencyMs);
  }

  /**
   * Routes, admits, authenticates, performs, records and answers one request. The admission ticket is
   * held until the answer is recorded: waiting for the audit commit is load too.
   */
  async function answer(request: AnyRequest, response: AnyResponse, record: RequestRecord): Promise<void> {
    let ticket: XksAdmissionTicket | undefined;
    try {
      let result: unknown;
      try {
        const { route: operation, keystore } = route(request, record);
        /*= xks-spec.md#14.1
         *# 8. [MUST] HTTP GET to any of the four API URIs → 405 Method Not Allowed. */
        if (request.method !== 'POST') {
          const error = new XksError('ValidationException', 'Method Not Allowed; use POST', 'method not allowed', 405);
          return await answerError(response, record, error, ALLOW_POST);
        }
        ticket = admit(request, keystore, operation.operation);
        const body = await readBody(request, maxBodyBytes);
        authenticate(request, keystore, body, record);
        requireJsonContentType(request);
        const late = ticket.stillWorthIt?.();
        if (late) throw late;
        result = await perform(operation, keystore, body, record);
      } catch (caught) {
        if (caught instanceof ClientAbortedError) {
          logger.info(
            { event: 'xks.request', keystore: record.keystore, xksOperation: record.xksOperation, outcome: 'aborted' },
            'xks request aborted by the client',
          );
          return;
        }
        return await answerError(response, record, caught instanceof XksError ? caught : rootFailure(caught));
      }
      try {
        await finish(record, 200);
      } catch (recordError) {
        // Fail closed: a success that could not be recorded is not answered as a success.
        logger.error(
          { event: 'xks.record_failed', err: recordError, keystore: record.keystore },
          'could not record an XKS request; failing it',
        );
        const error = new XksError('InternalException');
        record.status = error.status;
        record.errorName = error.errorName;
        if (!response.headersSent) sendJson(response, 500, errorBody(error));
        return;
      }
      sendJson(response, 200, result);
    } finally {
      ticket?.release();
    }
  }

  return async function handleXksRequest(request: AnyRequest, response: AnyResponse): Promise<void> {
    const record: RequestRecord = { startedAt: process.hrtime.bigint() };
    await answer(request, response, record);
    if (record.status !== undefined) observe(record);
  };
}

/** A failure of the root of trust: a deadline missed is retryable (503); anything else is an internal error. */
function rootFailure(caught: unknown): XksError {
  if (caught instanceof RootTimeoutError) {
    return new XksError('DependencyTimeoutException', 'The key manager did not answer in time', caught.message);
  }
  return new XksError('InternalException', undefined, (caught as Error)?.message);
}
