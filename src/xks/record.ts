import type { Logger } from 'pino';
import { LoadShedError, XksError } from './errors.js';
import type { XksObserver, XksRecorder } from './pipeline-ports.js';
import type { XksRequestLog } from './request-log.js';
import type { XksRequestRecord } from './request-record.js';

/**
 * Stage "record": what became of one request goes to the recorder (the audit log; in durable mode
 * committed before the answer is sent), to one log line, and, once the answer is sent, to the observers
 * (metrics). All three see the FINAL status: a success whose record cannot be committed is answered,
 * logged and counted as 500 InternalException.
 */
export interface RecordStage {
  /**
   * Sets the record's status from `error` (200 when none) and hands it to the recorder. Returns the error
   * to answer with: `error` itself, or InternalException when a success could not be recorded (fail
   * closed). A load-shedding 429 does not wait for its record.
   */
  commit(record: XksRequestRecord, error: XksError | undefined): Promise<XksError | undefined>;
  /** The request's log line (unless `requestLog` is `errors` and it succeeded), written once its status is final. */
  log(record: XksRequestRecord): void;
  /** The client went away before its request was complete: logged, neither answered nor recorded. */
  logAborted(record: XksRequestRecord): void;
  /** After the answer is handed to the socket. */
  observe(record: XksRequestRecord): void;
}

export function createRecordStage({
  recorder,
  observers,
  logger,
  requestLog = 'all',
}: {
  recorder: XksRecorder;
  observers: readonly XksObserver[];
  logger: Logger;
  /** `errors`: successes are not logged (their audit event is the record; see request-log.ts). Default `all`. */
  requestLog?: XksRequestLog;
}): RecordStage {
  function recordFailed(record: XksRequestRecord, recordError: unknown, message = 'could not record an XKS request'): void {
    logger.error({ event: 'xks.record_failed', err: recordError, keystore: record.keystore }, message);
  }

  async function commit(record: XksRequestRecord, error: XksError | undefined): Promise<XksError | undefined> {
    record.status = error ? error.status : 200;
    record.errorName = error?.errorName;
    record.detail = error?.detail;
    let recorded: Promise<void> | void;
    try {
      recorded = recorder.record(record);
    } catch (recordError) {
      recorded = Promise.reject(recordError instanceof Error ? recordError : new Error(String(recordError)));
    }
    if (error instanceof LoadShedError) {
      // A load-shedding 429 (node-wide limit or overload; never a quota, a policy denial or anything that
      // touched a key) is answered without waiting for its audit commit: no work was done, so all a crash
      // could lose is the record of a refusal, while waiting would keep the node busy with a request it
      // refused because it is too busy. The event is still appended; a failure to record it is logged.
      Promise.resolve(recorded).catch((recordError: unknown) => recordFailed(record, recordError));
      return error;
    }
    try {
      await recorded;
      return error;
    } catch (recordError) {
      if (error) {
        // A refusal that could not be recorded is logged; the refusal still goes out.
        recordFailed(record, recordError);
        return error;
      }
      // Fail closed: a success that could not be recorded is not answered as a success.
      recordFailed(record, recordError, 'could not record an XKS request; failing it');
      const failure = new XksError('InternalException', undefined, 'the request could not be recorded');
      record.status = failure.status;
      record.errorName = failure.errorName;
      record.detail = failure.detail;
      return failure;
    }
  }

  /**
   * One JSON log line per request.
   *
   *= docs/requirements.md#request-metadata
   *# 22. [SHOULD] Every call's `kmsRequestId` is logged, so proxy logs can be matched with CloudTrail.
   *= docs/requirements.md#authorization-logging-operations
   *# 96. [SHOULD] Every call's request metadata is logged.
   *# 99. [SHOULD] Each request's processing time, outcome and error are logged.
   *= docs/requirements.md#encrypt
   *# 33. [MUST NOT] The Encrypt plaintext is logged, by the proxy or by the key manager.
   *= docs/requirements.md#decrypt
   *# 58. [MUST NOT] The Decrypt plaintext is logged.
   *= docs/requirements.md#authorization-logging-operations
   *# 97. [MUST NOT] Sensitive plaintext is logged; the integrity of the logs is protected.
   * With `requestLog: 'errors'` (serve's default with a durable or fail-closed audit log) a success is
   * logged by its audit event, which carries the same facts (kmsRequestId, metadata, outcome, latency).
   */
  function log(record: XksRequestRecord): void {
    if (requestLog === 'errors' && record.errorName === undefined && !record.policyWouldDeny) return;
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
        latencyMs: elapsedMs(record),
      },
      'xks request',
    );
  }

  function logAborted(record: XksRequestRecord): void {
    logger.info(
      { event: 'xks.request', keystore: record.keystore, xksOperation: record.xksOperation, outcome: 'aborted' },
      'xks request aborted by the client',
    );
  }

  function observe(record: XksRequestRecord): void {
    if (observers.length === 0) return;
    const latencyMs = elapsedMs(record);
    for (const observer of observers) observer.observe(record, latencyMs);
  }

  return { commit, log, logAborted, observe };
}

/** Milliseconds since the request arrived. */
function elapsedMs(record: XksRequestRecord): number {
  return Number(process.hrtime.bigint() - record.startedAt) / 1e6;
}
