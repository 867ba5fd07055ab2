import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authFailureLabel, errorTypeOf, exceptionNameOf, kmsOperationLabel } from '../../src/metrics/xks-labels.js';
import { XKS_ERROR_NAMES } from '../../src/xks/errors.js';

describe('XKS metric labels', () => {
  it('error types follow the KMS console (docs/kms-client.md#metrics): only 500, 503 and 429 are retryable', () => {
    const retryable = XKS_ERROR_NAMES.filter((name) => errorTypeOf(name) === 'retryable').sort();
    assert.deepEqual(retryable, ['DependencyTimeoutException', 'InternalException', 'ThrottlingException']);
    for (const name of [
      'AccessDeniedException',
      'AuthenticationFailedException',
      'InvalidKeyUsageException',
      'InvalidStateException',
      'InvalidUriPathException',
      'KeyNotFoundException',
      'UnsupportedOperationException',
      'ValidationException',
      'InvalidCiphertextException',
    ]) {
      assert.equal(errorTypeOf(name), 'non_retryable', name);
    }
    assert.equal(errorTypeOf(undefined), 'none');
    assert.equal(exceptionNameOf(undefined), 'None');
    assert.equal(exceptionNameOf('KeyNotFoundException'), 'KeyNotFoundException');
  });

  it('a kmsOperation outside the names KMS sends becomes Other; none at all becomes (none)', () => {
    for (const known of [
      'Encrypt',
      'Decrypt',
      'ReEncrypt',
      'GenerateDataKey',
      'GenerateDataKeyWithoutPlaintext',
      'CreateKey',
      'DescribeKey',
      'KmsHealthCheck',
      'CreateCustomKeyStore',
      'ConnectCustomKeyStore',
      'UpdateCustomKeyStore',
    ]) {
      assert.equal(kmsOperationLabel(known), known);
    }
    for (const unknown of ['BulkEncrypt', 'encrypt', '', 'x'.repeat(10_000), '{"a":1}']) assert.equal(kmsOperationLabel(unknown), 'Other');
    assert.equal(kmsOperationLabel(undefined), '(none)');
  });

  it("authentication failure reasons are the verifier's; anything else is other", () => {
    assert.equal(authFailureLabel('clock-skew'), 'clock-skew');
    assert.equal(authFailureLabel('something-new'), 'other');
  });
});
