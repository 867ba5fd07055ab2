/**
 * GET /api/v1/auth/whoami on a real node: who a bearer token stands for (a user through its login or API
 * token, a service token, the bootstrap token), with its roles and permissions, for any valid token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PERMISSIONS } from '../../src/access/permissions.js';
import { bodyOf, errorOf, type CreatedToken } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, adminAs } from '../helpers/xks-client.js';

interface WhoAmI {
  kind: 'user' | 'token';
  name: string;
  roles: string[];
  permissions: string[];
}

describe('GET /api/v1/auth/whoami', () => {
  let node: TestNode;
  before(async () => (node = await startTestNode()));
  after(() => node.close());

  it('the bootstrap token: a token holding the administrator role and every permission', async () => {
    const me = bodyOf<WhoAmI>(await admin(node, 'GET', '/auth/whoami'));
    assert.deepEqual(me, { kind: 'token', name: 'bootstrap', roles: ['administrator'], permissions: [...PERMISSIONS].sort() });
  });

  it("a user (logged in): its roles, and the union of their permissions, sorted; the answer changes with the user's roles", async () => {
    const created = await admin(node, 'POST', '/users', {
      name: 'vera',
      password: 'vera password 123',
      roles: ['key-officer', 'approver'],
    });
    assert.equal(created.status, 201, created.text);
    const login = bodyOf<CreatedToken>(
      await adminAs(node, undefined, 'POST', '/auth/login', { user: 'vera', password: 'vera password 123' }),
      201,
    );
    const me = bodyOf<WhoAmI>(await adminAs(node, login.token, 'GET', '/auth/whoami'));
    assert.equal(me.kind, 'user');
    assert.equal(me.name, 'vera');
    assert.deepEqual(me.roles, ['key-officer', 'approver']);
    assert.deepEqual(me.permissions, [
      'approvals:decide',
      'approvals:read',
      'keys:create',
      'keys:destroy',
      'keys:manage',
      'keys:read',
      'keystores:read',
      'node:read',
      'policies:read',
    ]);
    assert.equal((await admin(node, 'PUT', '/users/vera/roles', { roles: ['auditor'] })).status, 200);
    const after = bodyOf<WhoAmI>(await adminAs(node, login.token, 'GET', '/auth/whoami'));
    assert.deepEqual([after.roles, after.permissions], [['auditor'], ['audit:read', 'metrics:read']]);
  });

  it('a user with no role may still ask (and learns it may do nothing)', async () => {
    assert.equal((await admin(node, 'POST', '/users', { name: 'nemo', password: 'nemo password 123' })).status, 201);
    const token = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'laptop', user: 'nemo' }), 201).token;
    assert.deepEqual(bodyOf<WhoAmI>(await adminAs(node, token, 'GET', '/auth/whoami')), {
      kind: 'user',
      name: 'nemo',
      roles: [],
      permissions: [],
    });
  });

  it('a service token: kind token, its name and its one role', async () => {
    const token = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'prometheus', role: 'monitor' }), 201).token;
    assert.deepEqual(bodyOf<WhoAmI>(await adminAs(node, token, 'GET', '/auth/whoami')), {
      kind: 'token',
      name: 'prometheus',
      roles: ['monitor'],
      permissions: ['metrics:read'],
    });
  });

  it('no token, a forged one, a revoked one, a disabled user → 401, nothing about anyone', async () => {
    for (const token of [undefined, 'kh_forged']) {
      const refused = await adminAs(node, token, 'GET', '/auth/whoami');
      assert.equal(refused.status, 401);
      assert.match(errorOf(refused), /missing or invalid admin token/);
    }
    const issued = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'short-lived', role: 'auditor' }), 201);
    assert.equal((await adminAs(node, issued.token, 'GET', '/auth/whoami')).status, 200);
    assert.equal((await admin(node, 'DELETE', `/tokens/${issued.id}`)).status, 200);
    assert.equal((await adminAs(node, issued.token, 'GET', '/auth/whoami')).status, 401);

    assert.equal((await admin(node, 'POST', '/users', { name: 'dana', password: 'dana password 123', roles: ['auditor'] })).status, 201);
    const dana = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'd', user: 'dana' }), 201).token;
    assert.equal((await admin(node, 'POST', '/users/dana/disable')).status, 200);
    assert.equal((await adminAs(node, dana, 'GET', '/auth/whoami')).status, 401);
  });
});
