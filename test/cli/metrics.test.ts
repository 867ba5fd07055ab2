/**
 * `keyhold serve` and the monitoring endpoints: /metrics wants a token unless --metrics-public (or
 * KEYHOLD_METRICS_PUBLIC=true); /healthz and /readyz answer without one; a monitor token made with the CLI
 * scrapes.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { httpsJson } from '../helpers/https-json.js';
import { keyhold, parseJsonOutput, removeTempDirs, startServe, tempDir, type ServedNode } from './helpers.js';

after(removeTempDirs);

const get = (node: ServedNode, path: string, token?: string) =>
  httpsJson(new URL(path, node.adminUrl).href, {
    method: 'GET',
    ca: node.ca,
    agent: false,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

describe('keyhold serve: /metrics, /healthz, /readyz', () => {
  it('by default /metrics needs a token (a monitor token from `keyhold token create --role monitor` works); health endpoints are open', async () => {
    const cwd = tempDir('metrics-cli');
    const node = await startServe({ cwd, dataDirArg: 'data' });
    try {
      assert.equal((await get(node, '/metrics')).status, 401);
      assert.equal((await get(node, '/healthz')).status, 200);
      const ready = await get(node, '/readyz');
      assert.equal(ready.status, 200, ready.text);
      const created = await keyhold(['token', 'create', '--name', 'prometheus', '--role', 'monitor', '--data-dir', 'data', '--json'], {
        cwd,
      });
      // --json prints the token alone, ready to use.
      const { token } = parseJsonOutput<{ token: string }>(created);
      assert.match(token, /^kh_\S+$/);
      const scraped = await get(node, '/metrics', token);
      assert.equal(scraped.status, 200, scraped.text);
      assert.match(scraped.text, /^keyhold_build_info\{version="[^"]+"\} 1$/m);
      assert.ok(!scraped.text.includes(token));
    } finally {
      await node.stop();
    }
  });

  it('--metrics-public serves /metrics without a token; so does KEYHOLD_METRICS_PUBLIC=true', async () => {
    for (const start of [{ args: ['--metrics-public'] }, { env: { KEYHOLD_METRICS_PUBLIC: 'true' } }]) {
      const node = await startServe({ cwd: tempDir('metrics-cli'), dataDirArg: 'data', ...start });
      try {
        const scraped = await get(node, '/metrics');
        assert.equal(scraped.status, 200, `${JSON.stringify(start)}: ${scraped.text}`);
        assert.match(scraped.text, /^# TYPE keyhold_xks_proxy_errors_total counter$/m);
      } finally {
        await node.stop();
      }
    }
  });
});
