import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPermission } from '../../src/access/permissions.js';
import { isRoleName, permissionsOfRole, ROLE_NAMES } from '../../src/access/roles.js';
import { bodyOf, errorOf, type CreatedToken } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, adminAs } from '../helpers/xks-client.js';

/** The node's own admin routes (collected with an onRoute hook), so routes added later are walked too. */
const walkable = (node: TestNode) => node.node.adminRoutes.filter((r) => r.method !== 'HEAD');
/** Every `:param` filled with a placeholder that names nothing. */
const fill = (url: string) => url.replace(/^\/api\/v1/, '').replace(/:[A-Za-z]+/g, 'placeholder-0');

describe('every admin route requires its permission', () => {
  let node: TestNode;
  const tokens = new Map<string, string>();

  before(async () => {
    node = await startTestNode();
    for (const role of ROLE_NAMES) {
      tokens.set(role, bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: `walk ${role}`, role }), 201).token);
    }
    // A user with no roles at all holds no permission.
    assert.equal((await admin(node, 'POST', '/users', { name: 'nobody', password: 'nobody has any roles' })).status, 201);
    const login = await adminAs(node, undefined, 'POST', '/auth/login', { user: 'nobody', password: 'nobody has any roles' });
    tokens.set('(no role)', bodyOf<CreatedToken>(login, 201).token);
  });
  after(() => node.close());

  it('every route declares a known permission, or is explicitly public or open to any valid token', () => {
    const routes = walkable(node);
    assert.ok(routes.length >= 30, `only ${routes.length} routes`);
    for (const route of routes) {
      if (route.public || route.authenticated) continue;
      assert.ok(route.permission !== undefined && isPermission(route.permission), `${route.method} ${route.url}: ${route.permission}`);
    }
    assert.deepEqual(
      routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`),
      ['POST /api/v1/auth/login'],
    );
    assert.deepEqual(
      routes.filter((r) => r.authenticated).map((r) => `${r.method} ${r.url}`),
      ['GET /api/v1/auth/whoami'],
    );
  });

  it('anonymous → 401, a wrong token → 401, on every non-public route', async () => {
    for (const route of walkable(node).filter((r) => !r.public)) {
      const anonymous = await adminAs(
        node,
        undefined,
        route.method,
        fill(route.url),
        route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
      );
      assert.equal(anonymous.status, 401, `${route.method} ${route.url}: ${anonymous.text}`);
      assert.match(errorOf(anonymous), /missing or invalid admin token/);
      const forged = await adminAs(node, 'kh_forged', route.method, fill(route.url));
      assert.equal(forged.status, 401, `${route.method} ${route.url}`);
    }
  });

  it("a role without the route's permission → 403; a role with it gets past authorization", async () => {
    let allowed = 0;
    let forbidden = 0;
    for (const route of walkable(node).filter((r) => !r.public)) {
      for (const [holder, token] of tokens) {
        const has =
          route.authenticated === true ||
          (isRoleName(holder) &&
            route.permission !== undefined &&
            isPermission(route.permission) &&
            permissionsOfRole(holder).includes(route.permission));
        const response = await adminAs(
          node,
          token,
          route.method,
          fill(route.url),
          route.method === 'GET' || route.method === 'DELETE' ? undefined : {},
        );
        const where = `${holder} ${route.method} ${route.url} (${route.permission}): ${response.status} ${response.text}`;
        if (has) {
          allowed++;
          assert.ok(![401, 403].includes(response.status), where);
          assert.ok(response.status < 500, where);
        } else {
          forbidden++;
          assert.equal(response.status, 403, where);
          assert.equal(errorOf(response), `this needs the ${route.permission} permission`);
        }
      }
    }
    assert.ok(allowed > 0 && forbidden > 0);
  });
});
