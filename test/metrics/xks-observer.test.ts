/**
 * The XKS request observer on its own, with request records as the handler leaves them: the outcomes a
 * running node does not produce in the other tests (429 from admission, an unknown auth reason).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createXksRequestMetrics } from '../../src/metrics/xks-observer.js';
import type { XksRequestRecord } from '../../src/xks/request-record.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';

const base = (extra: Partial<XksRequestRecord>): XksRequestRecord => ({
  startedAt: 0n,
  keystore: 'ks-a',
  xksOperation: 'Encrypt',
  ...extra,
});

describe('the XKS request observer', () => {
  it('counts 429 ThrottlingException as a retryable error and a throttle; an unknown auth reason as other', async () => {
    const registry = new Registry();
    const observer = createXksRequestMetrics(registry);
    for (let i = 0; i < 3; i++)
      observer.observe(base({ errorName: 'ThrottlingException', status: 429, detail: 'quota: keystore request quota exceeded' }), 0.2);
    observer.observe(
      base({ xksOperation: 'Decrypt', errorName: 'ThrottlingException', status: 429, detail: 'concurrency: node limit reached' }),
      0.2,
    );
    observer.observe(base({ errorName: 'AuthenticationFailedException', status: 401, authFailure: 'not-a-known-reason' }), 1);
    observer.observe(base({ errorName: 'AccessDeniedException', status: 403 }), 1); // denied without a rule id: no denial series
    const samples = parseExposition(await registry.metrics());
    assert.equal(valueOf(samples, 'keyhold_xks_proxy_throttles_total', { keystore: 'ks-a', xks_operation: 'Encrypt', reason: 'quota' }), 3);
    assert.equal(
      valueOf(samples, 'keyhold_xks_proxy_throttles_total', { keystore: 'ks-a', xks_operation: 'Decrypt', reason: 'concurrency' }),
      1,
    );
    assert.equal(
      valueOf(samples, 'keyhold_xks_proxy_errors_total', {
        keystore: 'ks-a',
        kms_operation: '(none)',
        xks_operation: 'Encrypt',
        error_type: 'retryable',
        exception_name: 'ThrottlingException',
      }),
      3,
    );
    assert.equal(valueOf(samples, 'keyhold_xks_authentication_failures_total', { keystore: 'ks-a', reason: 'other' }), 1);
    assert.equal(samples.filter((s) => s.name === 'keyhold_xks_policy_denials_total').length, 0);
  });

  it('latency is recorded in seconds: 0.7 ms lands in the 1 ms bucket, 250 ms in the 250 ms bucket, 300 ms above it', async () => {
    const registry = new Registry();
    const observer = createXksRequestMetrics(registry);
    const record = base({ metadata: { kmsOperation: 'Encrypt', kmsRequestId: 'r' }, status: 200 });
    for (const ms of [0.7, 250, 300]) observer.observe(record, ms);
    const samples = parseExposition(await registry.metrics());
    const bucket = (le: string) =>
      valueOf(samples, 'keyhold_xks_proxy_latency_seconds_bucket', {
        le,
        keystore: 'ks-a',
        kms_operation: 'Encrypt',
        xks_operation: 'Encrypt',
      });
    assert.equal(bucket('0.0005'), 0);
    assert.equal(bucket('0.001'), 1);
    assert.equal(bucket('0.2'), 1);
    assert.equal(bucket('0.25'), 2);
    assert.equal(bucket('0.5'), 3);
    assert.equal(
      valueOf(samples, 'keyhold_xks_proxy_latency_seconds_sum', { keystore: 'ks-a', kms_operation: 'Encrypt', xks_operation: 'Encrypt' }),
      0.5507,
    );
  });
});
