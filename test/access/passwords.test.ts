import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, passwordProblem, SCRYPT_PARAMS, verifyPassword } from '../../src/access/passwords.js';

describe('password hashing (scrypt)', () => {
  it('stores N≥2^15 with a per-user salt and verifies only the right password', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const [scheme, N, r, p, salt, hash] = stored.split('$');
    assert.equal(scheme, 'scrypt');
    assert.ok(Number(N) >= 2 ** 15 && Number(N) === SCRYPT_PARAMS.N);
    assert.equal(Number(r), 8);
    assert.equal(Number(p), 1);
    assert.equal(Buffer.from(salt!, 'base64url').length, 16);
    assert.equal(Buffer.from(hash!, 'base64url').length, 32);
    assert.ok(!stored.includes('correct horse'));
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
    assert.equal(await verifyPassword('correct horse battery stapler', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts each hash: the same password hashes differently', async () => {
    const params = { N: 2 ** 10, r: 8, p: 1 };
    const [a, b] = await Promise.all([hashPassword('same password here', params), hashPassword('same password here', params)]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same password here', a), true);
    assert.equal(await verifyPassword('same password here', b), true);
  });

  it('verifies with the parameters stored in the hash, and rejects tampered or malformed hashes', async () => {
    const stored = await hashPassword('a password of some length', { N: 2 ** 10, r: 8, p: 1 });
    assert.equal(await verifyPassword('a password of some length', stored), true);
    const parts = stored.split('$');
    assert.equal(
      await verifyPassword('a password of some length', [...parts.slice(0, 1), String(2 ** 11), ...parts.slice(2)].join('$')),
      false,
    );
    const flipped = Buffer.from(parts[5]!, 'base64url');
    flipped[0]! ^= 1;
    assert.equal(await verifyPassword('a password of some length', [...parts.slice(0, 5), flipped.toString('base64url')].join('$')), false);
    for (const bad of ['', 'scrypt$1$2', 'bcrypt$1$2$3$4$5', 'scrypt$x$8$1$AAAA$AAAA', 'scrypt$1024$8$1$AAAA$']) {
      assert.equal(await verifyPassword('a password of some length', bad), false, bad);
    }
  });

  it('requires 12 to 1024 characters', () => {
    assert.match(passwordProblem('short')!, /at least 12/);
    assert.match(passwordProblem('x'.repeat(1025))!, /at most 1024/);
    assert.equal(passwordProblem('twelve chars'), undefined);
  });
});
