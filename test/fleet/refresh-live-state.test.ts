import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLiveStateRefresh, type LiveStateSources } from '../../src/fleet/refresh-live-state.js';

/** Sources that record each step; `gate` holds the keystore step until released. */
function recordingSources(options: { serving?: boolean } = {}) {
  const steps: string[] = [];
  let serving = options.serving ?? true;
  let failKeystores = false;
  let held: (() => void) | undefined;
  let hold = false;
  const sources: LiveStateSources = {
    serving: () => serving,
    keys: {
      syncLive: () => {
        steps.push('keys');
        return Promise.resolve();
      },
    },
    keystores: {
      loadAll: async () => {
        steps.push('keystores');
        if (hold) await new Promise<void>((resolve) => (held = resolve));
        if (failKeystores) throw new Error('database unreachable');
      },
    },
    killSwitch: {
      refresh: () => {
        steps.push('kill-switch');
        return Promise.resolve({ on: false });
      },
    },
    policies: {
      loadAll: () => {
        steps.push('policies');
        return Promise.resolve();
      },
    },
  };
  return {
    sources,
    steps,
    seal: (sealed: boolean) => (serving = !sealed),
    failKeystores: (fail: boolean) => (failKeystores = fail),
    holdKeystores: (on: boolean) => (hold = on),
    release: () => held?.(),
  };
}

const FULL = ['keys', 'keystores', 'kill-switch', 'policies'];

describe('refreshLiveState', () => {
  it('re-reads keys, keystores with their credentials, the kill switch and policies, in that order', async () => {
    const { sources, steps } = recordingSources();
    await createLiveStateRefresh(sources)();
    assert.deepEqual(steps, FULL);
  });

  it('skips keys while the root of trust is sealed, and reads them again once it is not', async () => {
    const recorder = recordingSources({ serving: false });
    const refresh = createLiveStateRefresh(recorder.sources);
    await refresh();
    assert.deepEqual(recorder.steps, ['keystores', 'kill-switch', 'policies']);
    recorder.seal(false);
    recorder.steps.length = 0;
    await refresh();
    assert.deepEqual(recorder.steps, FULL);
  });

  it('calls made while a refresh runs share one more refresh, which starts after they asked', async () => {
    const recorder = recordingSources();
    const refresh = createLiveStateRefresh(recorder.sources);
    recorder.holdKeystores(true);
    const first = refresh();
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [refresh(), refresh(), refresh()];
    recorder.holdKeystores(false);
    recorder.release();
    await Promise.all([first, ...waiting]);
    assert.deepEqual(recorder.steps, [...FULL, ...FULL], 'two refreshes for four calls');
  });

  it('a failing step fails that refresh and skips the steps after it; the next refresh runs them all', async () => {
    const recorder = recordingSources();
    const refresh = createLiveStateRefresh(recorder.sources);
    recorder.failKeystores(true);
    await assert.rejects(refresh(), /database unreachable/);
    assert.deepEqual(recorder.steps, ['keys', 'keystores']);
    recorder.failKeystores(false);
    recorder.steps.length = 0;
    await refresh();
    assert.deepEqual(recorder.steps, FULL);
  });
});
