import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectError, okBody } from '../helpers/xks-answers.js';
import { admin, adminOk, healthBody, metadata, xks } from '../helpers/xks-client.js';
import { useTestNode } from '../helpers/xks-suite.js';

const node = useTestNode();

const getMetadata = (keyId: string, kmsOperation = 'CreateKey', extra: Record<string, unknown> = {}) =>
  xks(node(), { operation: 'metadata', keyId, body: { requestMetadata: { ...metadata(kmsOperation), ...extra } } });

describe('GetKeyMetadata (docs/requirements.md#get-key-metadata)', () => {
  it('25/26/27/29/30: answers keySpec AES_256, upper-case usage (≤ 10) and ENABLED', async () => {
    const response = await getMetadata(node().keyId);
    assert.deepEqual(okBody(response, 'metadata'), { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
  });

  it('30: a disabled key answers 200 with keyStatus DISABLED, effective on the next request', async () => {
    await admin(node(), 'POST', '/keys', { id: 'to-disable', keystore: 'demo' });
    assert.equal((await admin(node(), 'POST', '/keys/to-disable/disable')).status, 200);
    assert.equal(okBody(await getMetadata('to-disable'), 'metadata').keyStatus, 'DISABLED');
    await admin(node(), 'POST', '/keys/to-disable/enable');
    assert.equal(okBody(await getMetadata('to-disable'), 'metadata').keyStatus, 'ENABLED');
  });

  it('accepts the legacy DescribeKey form with kmsKeyArn and kmsViaService (docs/requirements.md#readings item 7)', async () => {
    const response = await getMetadata(node().keyId, 'DescribeKey', { kmsViaService: 'ebs' });
    assert.equal(response.status, 200);
  });

  it('23: accepts the 1.0.3 form with no kmsKeyArn, and optional VPC fields present or absent', async () => {
    const body = {
      requestMetadata: {
        awsPrincipalArn: 'AWS Internal',
        kmsOperation: 'CreateKey',
        kmsRequestId: 'r-1',
        awsSourceVpc: 'vpc-1',
        awsSourceVpce: 'vpce-1',
      },
    };
    assert.equal((await xks(node(), { operation: 'metadata', body })).status, 200);
  });

  it('16/75: an unknown key → 404 KeyNotFoundException', async () => {
    expectError(await getMetadata('no-such-key'), 404, 'KeyNotFoundException');
  });

  it("16: the same key id in another keystore's group is a different key", async () => {
    const { credential } = await adminOk<{ credential: { accessKeyId: string; secret: string } }>(node(), 'POST', '/keystores', {
      name: 'second',
      prefix: '/second',
    });
    const path = '/second/kms/xks/v1/keys/demo-key/metadata';
    const response = await xks(node(), { path, credential, body: { requestMetadata: metadata('CreateKey') } });
    expectError(response, 404, 'KeyNotFoundException');
  });

  it('17: key ids of 128 characters with - . _ are supported', async () => {
    const id = `${'a'.repeat(60)}-${'b'.repeat(30)}.${'c'.repeat(30)}_${'d'.repeat(5)}`;
    assert.equal(id.length, 128);
    assert.equal((await admin(node(), 'POST', '/keys', { id, keystore: 'demo' })).status, 201);
    assert.equal((await getMetadata(id)).status, 200);
  });

  it('the health canary key is never reachable through XKS', async () => {
    expectError(await getMetadata('health-canary'), 404, 'KeyNotFoundException');
  });
});

describe('GetHealthStatus (docs/requirements.md#health)', () => {
  it('63/64/65/66/67/68/69: answers every field with the right types', async () => {
    for (const kmsOperation of ['CreateCustomKeyStore', 'ConnectCustomKeyStore', 'UpdateCustomKeyStore', 'KmsHealthCheck']) {
      const body = okBody(await xks(node(), { operation: 'health', body: healthBody(kmsOperation) }), 'health');
      assert.ok(Number.isInteger(body.xksProxyFleetSize) && body.xksProxyFleetSize > 0);
      assert.equal(body.xksProxyVendor, 'Keyhold');
      assert.equal(body.ekmVendor, 'Keyhold');
      assert.match(body.xksProxyModel, /^Keyhold XKS Proxy \d+\.\d+\.\d+/);
      assert.ok(body.ekmFleetDetails.length >= 1 && body.ekmFleetDetails.length <= 10);
      for (const ekm of body.ekmFleetDetails) {
        assert.equal(typeof ekm.id, 'string');
        assert.match(ekm.model, /software root of trust.*OpenSSL/);
        assert.ok(['ACTIVE', 'DEGRADED', 'UNAVAILABLE'].includes(ekm.healthStatus));
      }
      assert.equal(body.ekmFleetDetails[0]?.healthStatus, 'ACTIVE');
    }
  });

  it('19: an unknown kmsOperation is not a validation error', async () => {
    const response = await xks(node(), { operation: 'health', body: healthBody('BulkHealthCheck') });
    assert.equal(response.status, 200);
  });

  it('errata 8: `{}` and `{"requestMetadata":{}}` → 400 ValidationException, as the official test client expects', async () => {
    for (const body of [{}, { requestMetadata: {} }]) {
      expectError(await xks(node(), { operation: 'health', body }), 400, 'ValidationException');
    }
  });
});
