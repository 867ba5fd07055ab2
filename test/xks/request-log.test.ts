import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { defaultRequestLog, parseRequestLog } from '../../src/xks/request-log.js';
import { encryptBody, metadata, xks } from '../helpers/xks-client.js';
import { useTestNode } from '../helpers/xks-suite.js';

const node = useTestNode({ requestLog: 'errors' });

/** An Encrypt with its own kmsRequestId; returns the status and that id. */
async function encrypt(keyId?: string): Promise<{ status: number; kmsRequestId: string }> {
  const kmsRequestId = `reqlog-${randomUUID()}`;
  const body = { ...encryptBody(randomBytes(16)), requestMetadata: { ...metadata('Encrypt'), kmsRequestId } };
  const response = await xks(node(), { operation: 'encrypt', keyId, body });
  return { status: response.status, kmsRequestId };
}

const linesFor = (kmsRequestId: string) => node().logs.filter((l) => l.event === 'xks.request' && l.kmsRequestId === kmsRequestId);

describe('--request-log errors: the audit event is the record of a success (items 22, 96, 99)', () => {
  it('a success writes no xks.request line; its audit event holds the kmsRequestId, outcome and latency', async () => {
    const { status, kmsRequestId } = await encrypt();
    assert.equal(status, 200);
    assert.deepEqual(linesFor(kmsRequestId), []);
    const [event, ...more] = await node().node.audit.store.search({ kmsRequestId, limit: 10 });
    assert.equal(more.length, 0);
    assert.ok(event, 'the success is in the audit log');
    assert.equal(event.outcome, 'success');
    assert.equal(event.status, 200);
    assert.equal(event.kmsOperation, 'Encrypt');
    assert.equal(event.principalArn, 'arn:aws:iam::111122223333:role/tester');
    assert.equal(typeof event.latencyUs, 'number');
  });

  it('an error is still logged, with its error name and status, and audited', async () => {
    const { status, kmsRequestId } = await encrypt('no-such-key');
    assert.equal(status, 404);
    const lines = linesFor(kmsRequestId);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.outcome, 'error');
    assert.equal(lines[0]!.errorName, 'KeyNotFoundException');
    assert.equal(lines[0]!.status, 404);
    const events = await node().node.audit.store.search({ kmsRequestId, limit: 10 });
    assert.equal(events.length, 1);
  });

  it('serve defaults to errors unless the audit log may drop events (lossy); bad values are refused', () => {
    assert.equal(defaultRequestLog('durable'), 'errors');
    assert.equal(defaultRequestLog('fail-closed'), 'errors');
    assert.equal(defaultRequestLog('lossy'), 'all');
    assert.equal(parseRequestLog('all'), 'all');
    assert.equal(parseRequestLog('errors'), 'errors');
    assert.throws(() => parseRequestLog('some'), /expected all or errors/);
  });
});
