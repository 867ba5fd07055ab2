/**
 * The XKS handler with its stages wired, without a node: a plain HTTP server on loopback, a verifier
 * that accepts one fixed Authorization value (SigV4 itself is tested in sigv4.test.ts), in-memory keys,
 * and recorders, gates and observers the tests control. It checks what only the whole pipeline shows:
 * the order of the stages across modules, and that the answer, its log line and its metrics carry the
 * same final status.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createRequestDecoder } from '../../src/xks/decoder.js';
import { XksError } from '../../src/xks/errors.js';
import { createXksHandler, type XksHandlerDeps } from '../../src/xks/handler.js';
import type { XksGate, XksObserver, XksRecorder } from '../../src/xks/pipeline-ports.js';
import type { XksRequestRecord } from '../../src/xks/request-record.js';
import type { SigV4Verifier } from '../../src/xks/sigv4-verifier.js';
import { liveKey, liveKeystore, liveState } from '../helpers/live-fixtures.js';
import { parseJson } from '../helpers/raw-http.js';
import { errorOf, expectError, isJsonObject, okBody, type Answer } from '../helpers/xks-answers.js';
import { decryptBody, encryptBody, healthBody, metadata, type XksApi } from '../helpers/xks-client.js';

const AUTHORIZATION = 'test-signature';
const acceptOne: SigV4Verifier = {
  verify: (request) =>
    request.headers.authorization === AUTHORIZATION ? { ok: true, accessKeyId: 'AKIDTEST' } : { ok: false, reason: 'signature-mismatch' },
};

interface Harness {
  call(api: XksApi, body: unknown, keyId?: string): Promise<Answer>;
  /** The `xks.request` log lines, parsed. */
  requestLines(): Record<string, unknown>[];
  observed: { status?: number; errorName?: string }[];
  close(): Promise<void>;
}

/** Serves a handler over a keystore `/test` with keys k1 (both usages), enc-only (ENCRYPT) and off (DISABLED). */
async function serve(deps: Partial<XksHandlerDeps> = {}): Promise<Harness> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const observed: Harness['observed'] = [];
  const observer: XksObserver = { observe: (record) => observed.push({ status: record.status, errorName: record.errorName }) };
  const handler = createXksHandler({
    live: liveState(
      [liveKeystore()],
      [
        liveKey({ externalId: 'k1' }),
        liveKey({ externalId: 'enc-only', usage: ['ENCRYPT'] }),
        liveKey({ externalId: 'off', status: 'DISABLED' }),
      ],
    ),
    verifier: acceptOne,
    decoder: createRequestDecoder(),
    healthFacts: () => Promise.resolve({ version: '0.0.0', fleetSize: 1, ekm: { id: 'ekm', model: 'test', healthStatus: 'ACTIVE' } }),
    logger: pino({ level: 'info' }, sink),
    observers: [observer],
    ...deps,
  });
  const server: Server = createServer((request, response) => void handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    async call(api, body, keyId = 'k1') {
      const path = api === 'health' ? '/test/kms/xks/v1/health' : `/test/kms/xks/v1/keys/${keyId}/${api}`;
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, text, json: parseJson(text) };
    },
    requestLines: () =>
      lines
        .map(parseJson)
        .filter(isJsonObject)
        .filter((line) => line.event === 'xks.request'),
    observed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the XKS handler without a node', () => {
  describe('every operation answers its wire response', () => {
    let harness: Harness;
    before(async () => {
      harness = await serve();
    });
    after(() => harness.close());

    it('6/57: health, metadata, Encrypt and Decrypt round-trip through the stages', async () => {
      assert.equal(okBody(await harness.call('health', healthBody()), 'health').xksProxyFleetSize, 1);
      assert.deepEqual(okBody(await harness.call('metadata', { requestMetadata: metadata('DescribeKey') }), 'metadata'), {
        keySpec: 'AES_256',
        keyUsage: ['ENCRYPT', 'DECRYPT'],
        keyStatus: 'ENABLED',
      });
      const plaintext = randomBytes(40);
      const encrypted = okBody(await harness.call('encrypt', encryptBody(plaintext)), 'encrypt');
      const decrypted = okBody(await harness.call('decrypt', decryptBody(encrypted)), 'decrypt');
      assert.deepEqual(decrypted, { plaintext: plaintext.toString('base64') });
      const lines = harness.requestLines();
      assert.deepEqual(
        lines.map((line) => [line.xksOperation, line.status, line.keyVersion]),
        [
          ['GetHealthStatus', 200, undefined],
          ['GetKeyMetadata', 200, undefined],
          ['Encrypt', 200, 1],
          ['Decrypt', 200, 1],
        ],
      );
    });

    it('the stage order across modules: decode (400) before resolve (404) before check (400 state, then usage)', async () => {
      expectError(await harness.call('encrypt', { requestMetadata: metadata('Encrypt') }, 'nope'), 400, 'ValidationException');
      expectError(await harness.call('encrypt', encryptBody(randomBytes(4)), 'nope'), 404, 'KeyNotFoundException');
      expectError(await harness.call('decrypt', decryptBody({}), 'nope'), 400, 'ValidationException');
      expectError(await harness.call('encrypt', encryptBody(randomBytes(4)), 'off'), 400, 'InvalidStateException');
      expectError(await harness.call('decrypt', decryptBody(randomCiphertext()), 'enc-only'), 400, 'InvalidKeyUsageException');
      assert.equal(
        okBody(await harness.call('metadata', { requestMetadata: metadata('CreateKey') }, 'off'), 'metadata').keyStatus,
        'DISABLED',
      );
    });
  });

  describe('node-wide gates and the policy, in docs/requirements.md#error-order order', () => {
    const sealed: XksGate = () => new XksError('InternalException', 'sealed', 'node sealed');
    const killSwitch: XksGate = () => new XksError('InvalidStateException', 'stopped', 'node kill switch');
    const denyAll: XksHandlerDeps['authorizer'] = {
      authorize: () => ({ allowed: false, ruleId: 'deny-all', detail: 'denied by test' }),
    };

    it('a sealed node says so for every key operation, known key or not; health still answers', async () => {
      const harness = await serve({ availabilityGates: [sealed], refusalGates: [killSwitch], authorizer: denyAll });
      try {
        for (const keyId of ['k1', 'nope']) {
          expectError(await harness.call('metadata', { requestMetadata: metadata('DescribeKey') }, keyId), 500, 'InternalException');
        }
        assert.equal((await harness.call('health', healthBody())).status, 200);
      } finally {
        await harness.close();
      }
    });

    it('75/77 (spec order): an unknown key is 404 and a policy denial 403 even while the kill switch is on', async () => {
      const denied = await serve({ refusalGates: [killSwitch], authorizer: denyAll });
      const allowed = await serve({ refusalGates: [killSwitch] });
      try {
        expectError(await allowed.call('encrypt', encryptBody(randomBytes(4)), 'nope'), 404, 'KeyNotFoundException');
        expectError(await denied.call('encrypt', encryptBody(randomBytes(4))), 403, 'AccessDeniedException');
        const stopped = expectError(await allowed.call('encrypt', encryptBody(randomBytes(4))), 400, 'InvalidStateException');
        assert.equal(stopped.errorMessage, 'stopped');
        assert.equal((await denied.call('health', healthBody())).status, 200, '62: health is never authorized or gated');
        assert.equal(denied.requestLines().find((line) => line.status === 403)?.policyRuleId, 'deny-all');
      } finally {
        await denied.close();
        await allowed.close();
      }
    });
  });

  describe('the record stage: the answer, the log line and the metrics carry the final status', () => {
    const failing: XksRecorder = { record: () => Promise.reject(new Error('audit database gone')) };

    it('a success whose audit commit fails is answered, logged and counted as 500 InternalException', async () => {
      const harness = await serve({ recorder: failing });
      try {
        const answer = await harness.call('encrypt', encryptBody(randomBytes(16)));
        expectError(answer, 500, 'InternalException');
        assert.doesNotMatch(answer.text, /ciphertext/, 'nothing of the result leaks into the failure');
        const [line] = harness.requestLines();
        assert.equal(line?.status, 500);
        assert.equal(line.outcome, 'error');
        assert.equal(line.errorName, 'InternalException');
        assert.deepEqual(harness.observed, [{ status: 500, errorName: 'InternalException' }]);
      } finally {
        await harness.close();
      }
    });

    it('a refusal whose audit commit fails still goes out as itself (and is logged and counted as itself)', async () => {
      const harness = await serve({ recorder: failing });
      try {
        expectError(await harness.call('encrypt', encryptBody(randomBytes(16)), 'nope'), 404, 'KeyNotFoundException');
        assert.equal(harness.requestLines()[0]?.status, 404);
        assert.deepEqual(harness.observed, [{ status: 404, errorName: 'KeyNotFoundException' }]);
      } finally {
        await harness.close();
      }
    });

    it('a durable recorder is awaited before the answer goes out, and the log line is written after it', async () => {
      const events: string[] = [];
      let commit!: () => void;
      const slow: XksRecorder = {
        record: (record: XksRequestRecord) => {
          events.push(`record ${record.status}`);
          return new Promise<void>((resolve) => (commit = resolve));
        },
      };
      const harness = await serve({ recorder: slow });
      try {
        const pending = harness.call('health', healthBody());
        while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
        assert.deepEqual(harness.requestLines(), [], 'no log line before the commit');
        commit();
        assert.equal((await pending).status, 200);
        assert.equal(harness.requestLines()[0]?.status, 200);
        assert.equal(errorOf(await pending), undefined);
      } finally {
        await harness.close();
      }
    });
  });
});

function randomCiphertext() {
  return {
    ciphertext: randomBytes(8).toString('base64'),
    ciphertextMetadata: Buffer.from([1, 0, 0, 0, 1]).toString('base64'),
    initializationVector: randomBytes(12).toString('base64'),
    authenticationTag: randomBytes(16).toString('base64'),
  };
}
