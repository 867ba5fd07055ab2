import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { lazyDataKey } from '../../src/keys/lazy-data-key.js';
import { softwareDataKey } from '../../src/roots/software-root.js';
import type { DataKey } from '../../src/roots/root-of-trust.js';

const iv = randomBytes(12);
const aad = Buffer.from('aad');

describe('a key opened on first use', () => {
  test('is not opened until used, then opened once however many requests race to use it', async () => {
    const real = softwareDataKey(createSecretKey(randomBytes(32)));
    let opens = 0;
    const key = lazyDataKey(() => {
      opens++;
      return Promise.resolve(real);
    });
    assert.equal(opens, 0);
    const results = await Promise.all([1, 2, 3].map(() => key.encrypt(iv, Buffer.from('hello'), aad)));
    assert.equal(opens, 1);
    const [first] = results;
    assert.ok(first);
    const plaintext = await key.decrypt(iv, first.ciphertext, aad, first.tag);
    assert.equal(plaintext.toString(), 'hello');
    assert.equal(opens, 1);
  });

  test('a failed open fails the requests that waited for it and is tried again by the next one', async () => {
    const real = softwareDataKey(createSecretKey(randomBytes(32)));
    let attempts = 0;
    const key: DataKey = lazyDataKey(() => {
      attempts++;
      return attempts === 1 ? Promise.reject(new Error('token not present')) : Promise.resolve(real);
    });
    await assert.rejects(
      Promise.all([key.encrypt(iv, Buffer.from('a'), aad), key.encrypt(iv, Buffer.from('b'), aad)]),
      /token not present/,
    );
    assert.equal(attempts, 1);
    const { ciphertext, tag } = await key.encrypt(iv, Buffer.from('again'), aad);
    assert.equal((await real.decrypt(iv, ciphertext, aad, tag)).toString(), 'again');
    assert.equal(attempts, 2);
  });
});
