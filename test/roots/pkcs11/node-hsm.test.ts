/**
 * A real Keyhold node on a SoftHSMv2 token: XKS Encrypt/Decrypt and GetHealthStatus through the HSM in
 * both modes, proof with pkcs11-tool that keys-mode keys are non-extractable and that the database holds
 * only handles, and a lost token that is detected, answered with errors (never a hang), and recovered
 * from without a restart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ekmHealth } from '../../helpers/ekm-health.js';
import { field, stringFields, text } from '../../helpers/json-fields.js';
import { startTestNode, type TestNode } from '../../helpers/node-harness.js';
import { createSoftHsmToken, removeSoftHsmTokens, type SoftHsmToken } from '../../helpers/softhsm.js';
import { admin, decryptBody, encryptBody, xks } from '../../helpers/xks-client.js';

after(removeSoftHsmTokens);

async function startHsmNode(token: SoftHsmToken, mode: 'keys' | 'wrap'): Promise<TestNode> {
  return startTestNode({
    root: { ...token.rootConfig(mode), reconnectIntervalMs: 100, probeIntervalMs: 100, callTimeoutMs: 2_000 },
    healthMaxAgeMs: 0,
  });
}

async function encryptDecrypt(node: TestNode): Promise<void> {
  const plaintext = randomBytes(64);
  const encrypted = await xks(node, { operation: 'encrypt', body: encryptBody(plaintext) });
  assert.equal(encrypted.status, 200, encrypted.text);
  const answer = stringFields(encrypted.json);
  const decrypted = await xks(node, { operation: 'decrypt', body: decryptBody(answer) });
  assert.equal(decrypted.status, 200, decrypted.text);
  assert.equal(field(decrypted.json, 'plaintext'), plaintext.toString('base64'));
  const tag = Buffer.from(text(answer, 'authenticationTag'), 'base64');
  tag.writeUInt8(tag.readUInt8(0) ^ 1, 0);
  const tampered = await xks(node, {
    operation: 'decrypt',
    body: decryptBody({ ...answer, authenticationTag: tag.toString('base64') }),
  });
  assert.equal(tampered.status, 400);
  assert.equal(field(tampered.json, 'errorName'), 'InvalidCiphertextException');
}

/** The root of trust's state as GET /api/v1/node reports it. */
const rootState = async (node: TestNode) => field((await admin(node, 'GET', '/node')).json, 'rootOfTrustState');

function storedReferences(node: TestNode): Buffer[] {
  const db = new Database(join(node.dataDir, 'keyhold.db'), { readonly: true });
  try {
    return (db.prepare('select sealed_material from key_versions').all() as { sealed_material: Buffer }[]).map(
      (row) => row.sealed_material,
    );
  } finally {
    db.close();
  }
}

for (const mode of ['keys', 'wrap'] as const) {
  describe(`a node with a PKCS#11 root in ${mode} mode`, () => {
    test('serves XKS Encrypt, Decrypt and GetHealthStatus through the HSM; no master.key file', async () => {
      const token = createSoftHsmToken();
      const node = await startHsmNode(token, mode);
      try {
        await encryptDecrypt(node);
        const health = await ekmHealth(node);
        assert.equal(health.status, 200);
        assert.equal(health.healthStatus, 'ACTIVE');
        assert.match(String(health.model), /^PKCS#11 SoftHSM project SoftHSM v2 .*token "kh-/);
        const status = await admin(node, 'GET', '/node');
        assert.equal(field(status.json, 'rootOfTrust'), 'pkcs11');
        assert.equal(field(status.json, 'rootOfTrustState'), 'ACTIVE');
        assert.ok(!existsSync(join(node.dataDir, 'master.key')));
        const rootJson = readFileSync(join(node.dataDir, 'root.json'), 'utf8');
        assert.match(rootJson, new RegExp(`"mode": "${mode}"`));
        assert.ok(!rootJson.includes(token.pin), 'root.json never holds the PIN');
        assert.ok(!node.logText().includes(token.pin), 'the PIN is never logged');
        // A key created through the admin API lands on the token too.
        assert.equal((await admin(node, 'POST', '/keys', { id: 'second', keystore: 'demo' })).status, 201);
        const encrypted = await xks(node, { operation: 'encrypt', keyId: 'second', body: encryptBody(Buffer.from('x')) });
        assert.equal(encrypted.status, 200, encrypted.text);
      } finally {
        await node.close();
      }
    });
  });
}

describe('keys mode keeps key material inside the HSM', () => {
  test('pkcs11-tool sees sensitive, never-extractable AES keys it cannot read; the database holds only short handles', async () => {
    const token = createSoftHsmToken();
    const node = await startHsmNode(token, 'keys');
    try {
      const references = storedReferences(node);
      assert.ok(references.length >= 2, 'the canary and the demo key');
      const objects = token.pkcs11Tool(['--list-objects', '--type', 'secrkey']);
      for (const reference of references) {
        // 0x11 ‖ 16-byte CKA_ID: a handle, too short to hold a 256-bit key with any wrapping.
        assert.equal(reference.length, 17);
        assert.equal(reference[0], 0x11);
        const id = reference.subarray(1).toString('hex');
        const block = objects.split(/\n(?=Secret Key Object)/).find((entry) => entry.includes(`ID:         ${id}`));
        assert.ok(block, `object ${id} is on the token:\n${objects}`);
        assert.match(block, /AES length 32/);
        assert.match(block, /Access:\s+sensitive, always sensitive, never extractable/);
        assert.doesNotMatch(block, /Value:/);
        assert.throws(
          () => token.pkcs11Tool(['--read-object', '--type', 'secrkey', '--id', id]),
          (error: { stderr?: string; status?: number }) => error.status !== 0 && /CKR_ATTRIBUTE_SENSITIVE/.test(error.stderr ?? ''),
        );
      }
    } finally {
      await node.close();
    }
  });
});

describe('a busy HSM', () => {
  test('an XKS call that cannot be queued is answered 503 DependencyTimeoutException, and served once the HSM is free', async () => {
    const token = createSoftHsmToken();
    const node = await startTestNode({ root: { ...token.rootConfig('keys'), sessions: 1, maxQueuePerSession: 1 }, healthMaxAgeMs: 0 });
    try {
      // Occupy the only session with a long HSM call (sealing 32 MiB under the master key).
      const busy = node.node.services.root.sealSecret(Buffer.alloc(32 * 1024 * 1024), 'busy');
      const refused = await xks(node, { operation: 'encrypt', body: encryptBody(Buffer.from('wait your turn')) });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(field(refused.json, 'errorName'), 'DependencyTimeoutException');
      await busy;
      await encryptDecrypt(node);
    } finally {
      await node.close();
    }
  });
});

describe('a lost token', () => {
  test('is reported UNAVAILABLE and answered with errors within a bounded time, then recovered from without a restart', async () => {
    const token = createSoftHsmToken();
    const node = await startHsmNode(token, 'keys');
    try {
      const before = await xks(node, { operation: 'encrypt', body: encryptBody(Buffer.from('written before the outage')) });
      assert.equal(before.status, 200);

      token.unplug();
      try {
        // Keys are used through session copies in the HSM's memory, so the loss is noticed by the
        // background probe (every 100 ms here) or by the next call that needs the token.
        const noticedBy = Date.now() + 5_000;
        while ((await rootState(node)) !== 'UNAVAILABLE' && Date.now() < noticedBy) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(await rootState(node), 'UNAVAILABLE');
        for (let i = 0; i < 3; i++) {
          const started = Date.now();
          const failed = await xks(node, { operation: 'encrypt', body: encryptBody(Buffer.from('during the outage')) });
          assert.ok(Date.now() - started < 3_000, 'an HSM failure is answered, not waited on');
          const errorName = field(failed.json, 'errorName');
          assert.ok(
            (failed.status === 500 && errorName === 'InternalException') ||
              (failed.status === 503 && errorName === 'DependencyTimeoutException'),
            failed.text,
          );
        }
        const health = await ekmHealth(node);
        assert.equal(health.status, 200);
        assert.equal(health.healthStatus, 'UNAVAILABLE');
      } finally {
        token.plugBack();
      }

      // The pool reconnects in the background (every 100 ms here) and re-finds the keys by CKA_ID.
      const deadline = Date.now() + 10_000;
      let recovered = false;
      while (!recovered && Date.now() < deadline) {
        recovered = (await ekmHealth(node)).healthStatus === 'ACTIVE';
        if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(recovered, 'health is ACTIVE again without a restart');
      const events = node.logs.map((line) => line.event);
      assert.ok(
        events.includes('root.lost') && events.includes('root.recovered'),
        `the loss and the recovery are logged: ${events.join(' ')}`,
      );
      assert.ok(!node.logText().includes(token.pin), 'the PIN is never logged');
      const decrypted = await xks(node, { operation: 'decrypt', body: decryptBody(stringFields(before.json)) });
      assert.equal(decrypted.status, 200, decrypted.text);
      assert.equal(Buffer.from(text(decrypted.json, 'plaintext'), 'base64').toString(), 'written before the outage');
      await encryptDecrypt(node);
    } finally {
      await node.close();
    }
  });

  test('wrap mode: an idle node notices the loss (DEGRADED), keeps serving loaded keys from memory, refuses new keys, and recovers', async () => {
    const token = createSoftHsmToken();
    const node = await startHsmNode(token, 'wrap');
    const waitFor = async (state: string) => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        if ((await rootState(node)) === state) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.fail(`root of trust never became ${state}`);
    };
    try {
      token.unplug();
      try {
        // No request touches the HSM here: the background probe notices.
        await waitFor('DEGRADED');
        assert.equal((await ekmHealth(node)).healthStatus, 'DEGRADED');
        await encryptDecrypt(node);
        const refused = await admin(node, 'POST', '/keys', { id: 'during-outage', keystore: 'demo' });
        assert.ok(refused.status >= 500, refused.text);
      } finally {
        token.plugBack();
      }
      await waitFor('ACTIVE');
      assert.equal((await admin(node, 'POST', '/keys', { id: 'after-outage', keystore: 'demo' })).status, 201);
      assert.equal((await xks(node, { operation: 'encrypt', keyId: 'after-outage', body: encryptBody(Buffer.from('x')) })).status, 200);
    } finally {
      await node.close();
    }
  });
});
