// The audit log in a real node: XKS requests and admin actions become chained events, searchable
// through the admin API, forwarded to syslog — and never carry plaintext, AAD, secrets or tokens.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AuditTables } from '../../src/audit/audit-rows.js';
import { parseSyslogUrl } from '../../src/audit/syslog-forwarder.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, decryptBody, encryptBody, metadata, xks } from '../helpers/xks-client.js';

let node: TestNode;
const syslogText: string[] = [];
const sockets = new Set<Socket>();
const collector = createServer((socket) => {
  sockets.add(socket);
  socket.on('data', (chunk: Buffer) => syslogText.push(chunk.toString('utf8')));
  socket.on('error', () => {});
  socket.on('close', () => sockets.delete(socket));
});

before(async () => {
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', () => resolve()));
  const port = (collector.address() as { port: number }).port;
  node = await startTestNode({ audit: { syslog: parseSyslogUrl(`tcp://127.0.0.1:${port}`), syslogPollMs: 50, checkpointEvery: 5 } });
});
after(async () => {
  await node.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => collector.close(() => resolve()));
});

const search = async (query: string) => {
  const response = await admin(node, 'GET', `/audit/events?${query}`);
  assert.equal(response.status, 200, JSON.stringify(response.json));
  return response.json as { events: Record<string, unknown>[]; nextCursor: string | null };
};

describe('audit events from a running node', () => {
  it('an answered Encrypt is committed before its response, with its metadata, outcome and latency', async () => {
    const kmsRequestId = `audit-${randomUUID()}`;
    const body = {
      ...encryptBody(randomBytes(16)),
      requestMetadata: {
        ...metadata('GenerateDataKey'),
        kmsRequestId,
        kmsViaService: 'ebs',
        awsSourceVpc: 'vpc-1',
        awsSourceVpce: 'vpce-2',
      },
    };
    assert.equal((await xks(node, { operation: 'encrypt', body })).status, 200);
    // No waiting: the event was committed before the response was sent.
    const rows = await node.node.audit.store.search({ kmsRequestId, limit: 10 });
    assert.equal(rows.length, 1);
    const [event] = (await search(`kmsRequestId=${kmsRequestId}`)).events;
    assert.equal(event!.chain, node.node.nodeId);
    assert.equal(event!.kind, 'xks');
    assert.equal(event!.action, 'Encrypt');
    assert.equal(event!.kmsOperation, 'GenerateDataKey');
    assert.equal(event!.keystore, 'demo');
    assert.equal(event!.actorId, node.credential.accessKeyId);
    assert.equal(event!.keyId, node.keyId);
    assert.equal(event!.keyVersion, 1);
    assert.equal(event!.principalArn, 'arn:aws:iam::111122223333:role/tester');
    assert.equal(event!.kmsViaService, 'ebs');
    assert.equal(event!.sourceVpc, 'vpc-1');
    assert.equal(event!.sourceVpce, 'vpce-2');
    assert.equal(event!.outcome, 'success');
    assert.equal(event!.status, 200);
    assert.equal(typeof event!.latencyUs, 'number');
  });

  it('98: every XKS audit event names the node (EKM) that served it: its chain is the node id', async () => {
    const kmsRequestId = `ekm-${randomUUID()}`;
    await xks(node, { operation: 'metadata', body: { requestMetadata: { ...metadata('DescribeKey'), kmsRequestId } } });
    const [event] = (await search(`kmsRequestId=${kmsRequestId}`)).events;
    assert.equal(event!.chain, node.node.nodeId);
    assert.equal(event!.action, 'GetKeyMetadata');
  });

  it('failures carry the error name; search filters by key, outcome and time, paginated by cursor', async () => {
    const from = Date.now();
    for (let i = 0; i < 3; i++) await xks(node, { operation: 'encrypt', keyId: 'no-such-key', body: encryptBody(randomBytes(4)) });
    const failures = await search(`keyId=no-such-key&outcome=error&from=${new Date(from).toISOString()}`);
    assert.equal(failures.events.length, 3);
    assert.ok(failures.events.every((e) => e.errorName === 'KeyNotFoundException' && e.status === 404));

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await search(`keyId=no-such-key&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.events.map((e) => e.seq as number));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(
      seen,
      failures.events.map((e) => e.seq),
    );
    assert.equal((await admin(node, 'GET', '/audit/events?limit=5000')).status, 400);
    assert.equal((await admin(node, 'GET', '/audit/events?from=yesterday')).status, 400);
    assert.equal((await admin(node, 'GET', '/audit/events?cursor=bogus')).status, 400);
  });

  it('records mutating admin requests (route, params, status, actor) and secret-revealing reads, not other reads', async () => {
    const id = `audited-${randomBytes(3).toString('hex')}`;
    assert.equal((await admin(node, 'POST', '/keys', { id, keystore: 'demo' })).status, 201);
    assert.equal((await admin(node, 'POST', `/keys/${id}/disable`)).status, 200);
    assert.equal((await admin(node, 'POST', '/keys', { id, keystore: 'demo' })).status, 409);
    assert.equal((await admin(node, 'GET', '/keystores/demo/kms-json')).status, 200);
    await admin(node, 'GET', '/keys');
    const events = (await search('limit=1000')).events.filter((e) => e.kind === 'admin');
    const actions = events.map((e) => `${String(e.action)} ${String(e.status)}`);
    assert.ok(actions.includes('POST /api/v1/keys 201'));
    assert.ok(actions.includes('POST /api/v1/keys/:id/disable 200'));
    assert.ok(actions.includes('POST /api/v1/keys 409'));
    assert.ok(actions.includes('GET /api/v1/keystores/:name/kms-json 200'));
    assert.ok(!actions.some((a) => a.startsWith('GET /api/v1/keys ')));
    const created = events.find((e) => e.action === 'POST /api/v1/keys' && e.status === 201 && e.keyId === id);
    assert.ok(created, 'the key creation names the key (identifying body fields only)');
    assert.equal(created.keystore, 'demo');
    const disable = events.find((e) => e.action === 'POST /api/v1/keys/:id/disable')!;
    assert.equal(disable.keyId, id);
    assert.equal(disable.actorName, 'bootstrap');
    assert.equal(disable.target, JSON.stringify({ id }));
    assert.equal(disable.outcome, 'success');
    const conflict = events.find((e) => e.status === 409)!;
    assert.equal(conflict.outcome, 'failure');
    assert.match(String(conflict.detail), /already exists/);
  });

  it('status, the latest signed checkpoint and verify are served to audit:read', async () => {
    for (let i = 0; i < 6; i++) await xks(node, { operation: 'encrypt', body: encryptBody(randomBytes(4)) });
    const status = (await admin(node, 'GET', '/audit/status')).json as Record<string, unknown>;
    assert.equal(status.mode, 'durable');
    assert.equal(status.dropped, 0);
    assert.match(String(status.publicKey), /BEGIN PUBLIC KEY/);
    const checkpoint = (await admin(node, 'GET', '/audit/checkpoint')).json as Record<string, unknown>;
    assert.equal(checkpoint.chain, node.node.nodeId);
    assert.equal(typeof checkpoint.signature, 'string');
    const report = (await admin(node, 'GET', '/audit/verify')).json as { ok: boolean };
    assert.equal(report.ok, true);
  });

  it('33/58/97: no plaintext, AAD, secret, token or Authorization header reaches the audit table or syslog', async () => {
    const plaintext = Buffer.from(`audit-canary-${randomBytes(12).toString('hex')}`);
    const aad = Buffer.from(`aad-canary-${randomBytes(12).toString('hex')}`);
    const encrypted = await xks(node, {
      operation: 'encrypt',
      body: encryptBody(plaintext, { additionalAuthenticatedData: aad.toString('base64') }),
    });
    assert.equal(encrypted.status, 200);
    const decrypted = await xks(node, {
      operation: 'decrypt',
      body: decryptBody(encrypted.json as Record<string, string>, { additionalAuthenticatedData: aad.toString('base64') }),
    });
    assert.equal(decrypted.status, 200);
    const credentials = await admin(node, 'POST', '/keystores/demo/credentials', {});
    assert.equal(credentials.status, 201, credentials.text);
    const newSecret =
      (credentials.json as { secret?: string; secretAccessKey?: string }).secret ??
      (credentials.json as { secretAccessKey?: string }).secretAccessKey;
    assert.ok(newSecret, "the new credential's secret");
    // A credential migrated in with its secret in the request body: the body's secret is never recorded.
    const migratedSecret = randomBytes(40).toString('base64').slice(0, 50);
    const accessKeyId = 'AUDITTEST' + 'A'.repeat(15);
    assert.equal((await admin(node, 'POST', '/keystores/demo/credentials', { accessKeyId, secret: migratedSecret })).status, 201);
    await node.node.audit.log.flush();
    await new Promise((r) => setTimeout(r, 300)); // let syslog catch up

    const rows = await node.node.services.database.tables<AuditTables>().selectFrom('audit_events').selectAll().execute();
    const table = JSON.stringify(rows);
    const forwarded = syslogText.join('');
    assert.ok(forwarded.includes(node.node.nodeId), 'syslog received events');
    const forbidden = [
      plaintext.toString('utf8'),
      plaintext.toString('base64'),
      aad.toString('utf8'),
      aad.toString('base64'),
      node.credential.secret,
      node.adminToken,
      'AWS4-HMAC-SHA256',
      'Bearer',
      (encrypted.json as { ciphertext: string }).ciphertext,
      newSecret,
      migratedSecret,
    ];
    const migrated = rows.find((r) => r.target?.includes(accessKeyId));
    assert.ok(migrated, 'the credential migration is recorded with its (non-secret) access key id');
    for (const text of forbidden) {
      assert.ok(!table.includes(text), `audit table contains ${text.slice(0, 12)}…`);
      assert.ok(!forwarded.includes(text), `syslog output contains ${text.slice(0, 12)}…`);
    }
  });
});
