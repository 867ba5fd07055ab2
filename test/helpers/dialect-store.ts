/**
 * One database of a dialect target (dialects.ts) for one `describe`: its `before` hook creates and opens
 * it, its `after` hook closes and removes it, in place of the same four lines in every suite.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Store } from '../../src/storage/store.js';
import type { DialectTarget } from './dialects.js';

/**
 * Registers the hooks of the calling `describe` and returns the open store (failing the test when
 * called before the hook ran). `onOpen` runs in the `before` hook, after the database opened.
 */
export function useDialectStore(target: DialectTarget, onOpen?: (store: Store) => void | Promise<void>): () => Store {
  let store: Store | undefined;
  before(async () => {
    await target.setUp();
    store = await target.open();
    await onOpen?.(store);
  });
  after(async () => {
    await store?.close();
    await target.tearDown();
  });
  return () => store ?? assert.fail(`the ${target.name} database is not open`);
}
