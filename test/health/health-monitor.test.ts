/**
 * The deep health check (src/health/health-monitor.ts): real crypto on the dedicated canary key through
 * the root of trust, a cached result never older than a minute, and UNAVAILABLE for a canary that
 * answers wrongly or too slowly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { createHealthMonitor } from '../../src/health/health-monitor.js';
import { sealContext, type DataKey, type RootOfTrust } from '../../src/roots/root-of-trust.js';
import { createSoftwareRoot } from '../../src/roots/software-root.js';

/** A software root and a canary key on it that counts its encryptions. */
function countingRoot(): { root: RootOfTrust; calls: () => number; canary: () => Promise<DataKey> } {
  const root = createSoftwareRoot(Buffer.alloc(32, 7));
  const context = sealContext.keyMaterial('canary', 1);
  let calls = 0;
  let key: DataKey | undefined;
  return {
    root,
    calls: () => calls,
    canary: async () => {
      key ??= await root.openKey(await root.createKeyMaterial(context), context);
      const opened = key;
      return {
        encrypt: (...args) => {
          calls += 1;
          return opened.encrypt(...args);
        },
        decrypt: (...args) => opened.decrypt(...args),
      };
    },
  };
}

describe('deep health check with a cache (items 60, 61, 70, 71)', () => {
  it('60/61: runs real crypto on the dedicated canary key', async () => {
    const { root, calls, canary } = countingRoot();
    const monitor = createHealthMonitor({ root, canary, clock: new ManualClock() });
    assert.equal((await monitor.current()).status, 'ACTIVE');
    assert.equal(calls(), 1);
  });

  it('70/71: serves a cached result, and never one older than a minute', async () => {
    const { root, calls, canary } = countingRoot();
    const clock = new ManualClock();
    const monitor = createHealthMonitor({ root, canary, clock, maxAgeMs: 60_000 });
    const first = await monitor.current();
    clock.advance(59_999);
    assert.equal((await monitor.current()).checkedAt, first.checkedAt);
    assert.equal(calls(), 1);
    clock.advance(1);
    const second = await monitor.current();
    assert.equal(calls(), 2);
    assert.ok(clock.now() - second.checkedAt < 60_000);
    assert.throws(() => createHealthMonitor({ root, canary, clock, maxAgeMs: 60_001 }), RangeError);
  });

  it('a result is checked again after invalidate() (the keys opened after an unseal)', async () => {
    const { root, calls, canary } = countingRoot();
    const monitor = createHealthMonitor({ root, canary, clock: new ManualClock() });
    await monitor.current();
    monitor.invalidate();
    await monitor.current();
    assert.equal(calls(), 2);
  });

  it('60: a canary that fails its round trip reports UNAVAILABLE', async () => {
    const root = createSoftwareRoot(Buffer.alloc(32, 1));
    const broken: DataKey = {
      encrypt: (_iv, plaintext) => Promise.resolve({ ciphertext: Buffer.from(plaintext), tag: Buffer.alloc(16) }),
      decrypt: () => Promise.resolve(Buffer.from('wrong')),
    };
    const monitor = createHealthMonitor({ root, canary: () => Promise.resolve(broken), clock: new ManualClock() });
    const snapshot = await monitor.current();
    assert.equal(snapshot.status, 'UNAVAILABLE');
    assert.match(snapshot.detail ?? '', /different bytes/);
  });

  it('60: a canary slower than the check timeout reports UNAVAILABLE instead of hanging', async () => {
    const root = createSoftwareRoot(Buffer.alloc(32, 1));
    const slow: DataKey = { encrypt: () => new Promise(() => undefined), decrypt: () => new Promise(() => undefined) };
    const monitor = createHealthMonitor({ root, canary: () => Promise.resolve(slow), clock: new ManualClock(), checkTimeoutMs: 20 });
    assert.equal((await monitor.current()).status, 'UNAVAILABLE');
  });

  it('60: a root of trust that is UNAVAILABLE is reported without touching the canary', async () => {
    const { root, calls, canary } = countingRoot();
    const monitor = createHealthMonitor({ root: { ...root, state: () => 'UNAVAILABLE' }, canary, clock: new ManualClock() });
    assert.deepEqual(await monitor.current(), {
      status: 'UNAVAILABLE',
      checkedAt: new ManualClock().now(),
      detail: 'root of trust unavailable',
    });
    assert.equal(calls(), 0);
  });
});
