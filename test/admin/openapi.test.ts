import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bodyOf, type CreatedToken } from '../helpers/admin-json.js';
import { startTestNode, type TestNode } from '../helpers/node-harness.js';
import { admin, adminAs } from '../helpers/xks-client.js';

/** `/api/v1/keys/:id` → `/api/v1/keys/{id}` as OpenAPI writes paths. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}');

/** The parts of the OpenAPI document these tests read. */
interface OpenApiDocument {
  openapi: string;
  components: { securitySchemes: { bearerToken: { scheme: string } } };
  paths: Record<string, Record<string, { 'x-keyhold-permission'?: string; security?: unknown } | undefined> | undefined>;
}

describe('OpenAPI document', () => {
  let node: TestNode;
  before(async () => (node = await startTestNode()));
  after(() => node.close());

  it('lists every registered admin route with the permission it requires', async () => {
    const doc = bodyOf<OpenApiDocument>(await admin(node, 'GET', '/openapi.json'));
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.components.securitySchemes.bearerToken.scheme, 'bearer');
    const routes = node.node.adminRoutes.filter((r) => r.method !== 'HEAD');
    for (const route of routes) {
      const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      assert.ok(operation, `${route.method} ${route.url} missing from the document`);
      if (route.public) {
        assert.equal(operation['x-keyhold-permission'], 'public');
        assert.deepEqual(operation.security, []);
      } else {
        const required = route.authenticated ? 'authenticated' : route.permission;
        assert.equal(operation['x-keyhold-permission'], required, `${route.method} ${route.url}`);
        assert.deepEqual(operation.security, [{ bearerToken: [] }]);
      }
    }
    const documented = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods ?? {}).length, 0);
    assert.equal(documented, routes.length, 'nothing in the document that is not a route');
  });

  it('needs node:read', async () => {
    assert.equal((await adminAs(node, undefined, 'GET', '/openapi.json')).status, 401);
    const auditor = bodyOf<CreatedToken>(await admin(node, 'POST', '/tokens', { name: 'a', role: 'auditor' }), 201);
    assert.equal((await adminAs(node, auditor.token, 'GET', '/openapi.json')).status, 403);
  });
});
