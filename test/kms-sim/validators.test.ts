import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeStrictBase64 } from '../../src/kms-sim/base64.js';
import { computeCdiv } from '../../src/kms-sim/cdiv.js';
import {
  findCreateKeyRefusal,
  hasServingEkm,
  validateDecryptResponse,
  validateEncryptResponse,
  validateErrorResponse,
  validateHealthResponse,
  validateKeyMetadataResponse,
} from '../../src/kms-sim/validators.js';
import type { ValidationReport } from '../../src/kms-sim/check-log.js';

const b64 = (bytes: Buffer) => bytes.toString('base64');
const failed = (report: ValidationReport<unknown>) => report.failures.map((failure) => failure.check);
const warned = (report: ValidationReport<unknown>) => report.warnings.map((warning) => warning.check);

describe('strict Base64', () => {
  it('accepts standard padded Base64 and rejects lenient forms', () => {
    assert.deepEqual(decodeStrictBase64('SGVsbG8gV29ybGQh'), Buffer.from('Hello World!'));
    assert.deepEqual(decodeStrictBase64(''), Buffer.alloc(0));
    for (const bad of ['djE', 'djE==', 'ab-_', 'ab c', 'SGVs bG8=', '====', 'QQ=A', 'QR==']) {
      assert.equal(decodeStrictBase64(bad), undefined, bad);
    }
  });
});

describe('CDIV', () => {
  it('reproduces the spec vector (docs/requirements.md#cdiv)', () => {
    const cdiv = computeCdiv({
      aad: Buffer.from('project=nile,department=marketing'),
      metadata: Buffer.from('key_version=1'),
      iv: Buffer.from('HMrlRw85cAJUd5Ax', 'base64'),
      ciphertext: Buffer.from('ghxkK1txeDNn3q8Y', 'base64'),
      tag: Buffer.from('vBxN2ncH1oEkR8WVXpmyYQ==', 'base64'),
    });
    assert.equal(b64(cdiv), 'qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=');
  });
});

describe('validateHealthResponse', () => {
  const good = {
    xksProxyFleetSize: 2,
    xksProxyVendor: 'Acme',
    xksProxyModel: 'Acme 1.0',
    ekmVendor: 'Thales',
    ekmFleetDetails: [
      { id: 'a', model: 'Luna', healthStatus: 'DEGRADED' },
      { id: 'b', model: 'Luna', healthStatus: 'ACTIVE' },
    ],
  };
  const entry = { id: 'x', model: 'm', healthStatus: 'ACTIVE' };

  it('accepts the spec example', () => {
    const report = validateHealthResponse(good);
    assert.deepEqual(report.failures, []);
    assert.ok(report.value && hasServingEkm(report.value));
  });

  it('names each broken rule', () => {
    const cases: Array<[unknown, string]> = [
      [[], 'response-is-json-object'],
      [{ ...good, xksProxyFleetSize: 0 }, 'xksProxyFleetSize-is-integer-at-least-1'],
      [{ ...good, xksProxyFleetSize: 1.5 }, 'xksProxyFleetSize-is-integer-at-least-1'],
      [{ ...good, xksProxyFleetSize: '2' }, 'xksProxyFleetSize-is-integer-at-least-1'],
      [{ ...good, ekmVendor: undefined }, 'ekmVendor-is-string'],
      [{ ...good, xksProxyVendor: 1 }, 'xksProxyVendor-is-string'],
      [{ ...good, xksProxyModel: null }, 'xksProxyModel-is-string'],
      [{ ...good, ekmFleetDetails: {} }, 'ekmFleetDetails-is-array'],
      [{ ...good, ekmFleetDetails: [] }, 'ekmFleetDetails-has-1-to-10-entries'],
      [{ ...good, ekmFleetDetails: Array(11).fill(entry) }, 'ekmFleetDetails-has-1-to-10-entries'],
      [{ ...good, ekmFleetDetails: [{ ...entry, healthStatus: 'OK' }] }, 'ekmFleetDetails-entries-well-formed'],
      [{ ...good, ekmFleetDetails: [{ id: 'x', healthStatus: 'ACTIVE' }] }, 'ekmFleetDetails-entries-well-formed'],
    ];
    for (const [body, check] of cases) {
      const report = validateHealthResponse(body);
      assert.ok(failed(report).includes(check), `${check}: ${JSON.stringify(report.failures)}`);
      assert.equal(report.value, undefined);
    }
  });

  it('accepts exactly 10 entries; all UNAVAILABLE is well-formed but not serving', () => {
    const ten = validateHealthResponse({ ...good, ekmFleetDetails: Array(10).fill(entry) });
    assert.deepEqual(ten.failures, []);
    const down = validateHealthResponse({ ...good, ekmFleetDetails: [{ ...entry, healthStatus: 'UNAVAILABLE' }] });
    assert.ok(down.value);
    assert.equal(hasServingEkm(down.value), false);
  });

  it('warns about unknown fields, and fails on them in strict mode', () => {
    const body = { ...good, extra: true };
    assert.deepEqual(warned(validateHealthResponse(body)), ['no-unknown-fields']);
    assert.deepEqual(failed(validateHealthResponse(body, { strict: true })), ['no-unknown-fields']);
  });
});

describe('validateKeyMetadataResponse and the CreateKey checks', () => {
  const good = { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' };

  it('accepts a usable key', () => {
    const report = validateKeyMetadataResponse(good);
    assert.ok(report.value);
    assert.equal(findCreateKeyRefusal(report.value), undefined);
  });

  it('rejects malformed answers by rule', () => {
    const cases: Array<[unknown, string]> = [
      [{ ...good, keySpec: 256 }, 'keySpec-is-string'],
      [{ ...good, keyUsage: 'ENCRYPT' }, 'keyUsage-is-array-of-strings'],
      [{ ...good, keyUsage: ['ENCRYPT', 1] }, 'keyUsage-is-array-of-strings'],
      [{ ...good, keyUsage: ['ENCRYPT', 'DECRYPT', ...Array<string>(9).fill('SIGN')] }, 'keyUsage-at-most-10-entries'],
      [{ ...good, keyStatus: 'enabled' }, 'keyStatus-is-ENABLED-or-DISABLED'],
    ];
    for (const [body, check] of cases) assert.ok(failed(validateKeyMetadataResponse(body)).includes(check), check);
  });

  it('refuses keys KMS cannot use, in the docs/kms-client.md#create-key order', () => {
    assert.deepEqual(findCreateKeyRefusal({ ...good, keySpec: 'aes_256' }), { check: 'keySpec-is-AES_256', found: 'aes_256' });
    assert.deepEqual(findCreateKeyRefusal({ ...good, keyStatus: 'DISABLED' }), { check: 'keyStatus-is-ENABLED', found: 'DISABLED' });
    assert.deepEqual(findCreateKeyRefusal({ ...good, keyUsage: ['ENCRYPT'] }), {
      check: 'keyUsage-includes-ENCRYPT-and-DECRYPT',
      found: 'ENCRYPT',
    });
    assert.equal(findCreateKeyRefusal({ ...good, keyUsage: ['WRAP', 'DECRYPT', 'ENCRYPT'] }), undefined);
  });
});

describe('validateEncryptResponse', () => {
  const plaintext = Buffer.alloc(40, 7);
  const aad = Buffer.from('header and context');
  const iv = Buffer.alloc(12, 1);
  const tag = Buffer.alloc(16, 2);
  const metadata = Buffer.from('v1');
  const ciphertext = Buffer.alloc(40, 9);
  const cdiv = computeCdiv({ aad, metadata, iv, ciphertext, tag });
  const good = {
    ciphertext: b64(ciphertext),
    ciphertextMetadata: b64(metadata),
    initializationVector: b64(iv),
    authenticationTag: b64(tag),
    ciphertextDataIntegrityValue: b64(cdiv),
  };
  const request = { plaintext, aad, cdivRequested: true };

  it('accepts a conforming answer and returns the decoded fields', () => {
    const report = validateEncryptResponse(good, request);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.value?.ciphertext, ciphertext);
    assert.deepEqual(report.value.ciphertextMetadata, metadata);
  });

  it('names each broken rule', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, ciphertext: undefined }, 'ciphertext-present'],
      [{ ...good, authenticationTag: undefined }, 'authenticationTag-present'],
      [{ ...good, initializationVector: 5 }, 'initializationVector-present'],
      [{ ...good, ciphertext: b64(Buffer.alloc(41, 9)) }, 'ciphertext-length-equals-plaintext-length'],
      [{ ...good, ciphertext: b64(plaintext) }, 'ciphertext-differs-from-plaintext'],
      [{ ...good, initializationVector: b64(Buffer.alloc(8)) }, 'iv-is-12-or-16-bytes'],
      [{ ...good, authenticationTag: b64(Buffer.alloc(15)) }, 'tag-is-16-bytes'],
      [{ ...good, ciphertextMetadata: b64(Buffer.alloc(21)) }, 'metadata-at-most-20-bytes'],
      [{ ...good, ciphertextDataIntegrityValue: undefined }, 'ciphertextDataIntegrityValue-present'],
      [{ ...good, ciphertextDataIntegrityValue: b64(Buffer.alloc(32)) }, 'cdiv-matches'],
      [{ ...good, ciphertextMetadata: 'djE' }, 'ciphertextMetadata-strict-base64'],
      [{ ...good, ciphertext: good.ciphertext.replace(/\+/g, '-').replace(/=+$/, '') + '_' }, 'ciphertext-strict-base64'],
    ];
    for (const [body, check] of cases) {
      const report = validateEncryptResponse(body, request);
      assert.ok(failed(report).includes(check), `${check}: ${JSON.stringify(report.failures)}`);
      assert.equal(report.value, undefined);
    }
  });

  it('accepts a 16-byte IV, 20 bytes of metadata, and no metadata', () => {
    for (const [iv16, md] of [
      [Buffer.alloc(16, 1), Buffer.alloc(20, 3)],
      [Buffer.alloc(16, 1), undefined],
    ] as const) {
      const body = {
        ciphertext: b64(ciphertext),
        initializationVector: b64(iv16),
        authenticationTag: b64(tag),
        ...(md ? { ciphertextMetadata: b64(md) } : {}),
        ciphertextDataIntegrityValue: b64(computeCdiv({ aad, metadata: md, iv: iv16, ciphertext, tag })),
      };
      assert.deepEqual(validateEncryptResponse(body, request).failures, []);
    }
  });

  it('ignores a CDIV nobody asked for, and needs none when not requested', () => {
    const noCdiv = { ...good, ciphertextDataIntegrityValue: undefined };
    assert.deepEqual(validateEncryptResponse(noCdiv, { ...request, cdivRequested: false }).failures, []);
    const wrongButUnrequested = { ...good, ciphertextDataIntegrityValue: b64(Buffer.alloc(32)) };
    assert.deepEqual(validateEncryptResponse(wrongButUnrequested, { ...request, cdivRequested: false }).failures, []);
  });

  it('computes the CDIV with an absent AAD as empty', () => {
    const cdivNoAad = createHash('sha256')
      .update(Buffer.concat([metadata, iv, ciphertext, tag]))
      .digest();
    const body = { ...good, ciphertextDataIntegrityValue: b64(cdivNoAad) };
    assert.deepEqual(validateEncryptResponse(body, { plaintext, cdivRequested: true }).failures, []);
  });
});

describe('validateDecryptResponse', () => {
  it('requires a Base64 plaintext as long as the ciphertext', () => {
    const ciphertext = Buffer.alloc(30);
    assert.deepEqual(validateDecryptResponse({ plaintext: b64(Buffer.alloc(30, 1)) }, { ciphertext }).failures, []);
    assert.deepEqual(failed(validateDecryptResponse({}, { ciphertext })), ['plaintext-present']);
    assert.deepEqual(failed(validateDecryptResponse({ plaintext: b64(Buffer.alloc(29)) }, { ciphertext })), [
      'plaintext-length-equals-ciphertext-length',
    ]);
    assert.deepEqual(failed(validateDecryptResponse({ plaintext: 'AA' }, { ciphertext })), ['plaintext-strict-base64']);
  });
});

describe('validateErrorResponse', () => {
  it('reads a known errorName', () => {
    const report = validateErrorResponse(400, '{"errorName":"InvalidCiphertextException","errorMessage":"bad tag"}');
    assert.deepEqual(report.value, { errorName: 'InvalidCiphertextException', errorMessage: 'bad tag' });
    assert.deepEqual(report.warnings, []);
  });

  it('fails on non-JSON bodies and unknown names', () => {
    assert.deepEqual(failed(validateErrorResponse(500, 'oops')), ['error-body-is-json-object']);
    assert.deepEqual(failed(validateErrorResponse(400, '{"errorName":"IncorrectKeyException"}')), ['errorName-is-known']);
    assert.deepEqual(failed(validateErrorResponse(400, '{"message":"x"}')), ['errorName-is-known']);
  });

  it('only warns about long or non-printable messages and a status that does not match the name', () => {
    const long = validateErrorResponse(400, JSON.stringify({ errorName: 'ValidationException', errorMessage: 'x'.repeat(512) }));
    assert.ok(long.value);
    assert.deepEqual(warned(long), ['errorMessage-under-512-printable-ascii']);
    const tab = validateErrorResponse(400, JSON.stringify({ errorName: 'ValidationException', errorMessage: 'a\tb' }));
    assert.deepEqual(warned(tab), ['errorMessage-under-512-printable-ascii']);
    assert.deepEqual(
      warned(validateErrorResponse(400, JSON.stringify({ errorName: 'ValidationException', errorMessage: 'x'.repeat(511) }))),
      [],
    );
    assert.deepEqual(warned(validateErrorResponse(500, '{"errorName":"KeyNotFoundException"}')), ['status-matches-errorName']);
  });
});
