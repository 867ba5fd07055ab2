import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalescing } from '../../src/core/coalescing.js';

describe('coalescing: calls made during a run', () => {
  it('share the one next run: each caller gets a run that started after it asked', async () => {
    let runs = 0;
    let release!: () => void;
    const refresh = coalescing(async () => {
      runs++;
      await new Promise<void>((resolve) => (release = resolve));
    });
    const first = refresh();
    const [second, third] = [refresh(), refresh()];
    assert.equal(runs, 1);
    release();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(runs, 2, 'the waiting callers started one more run');
    release();
    await Promise.all([second, third]);
    assert.equal(runs, 2);
    const fourth = refresh();
    assert.equal(runs, 3, 'idle again: a new caller starts a run at once');
    release();
    await fourth;
  });

  it('a failed run fails its callers only; the next callers get a fresh run', async () => {
    let fail = true;
    const refresh = coalescing(() => (fail ? Promise.reject(new Error('database unreachable')) : Promise.resolve()));
    await assert.rejects(refresh(), /database unreachable/);
    fail = false;
    await refresh();
  });
});
