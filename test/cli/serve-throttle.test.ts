/** `keyhold serve --max-in-flight / --shed-after-ms / --shed-on-lag-ms`: checked before anything is initialized; good values serve. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { failureLine, keyhold, readKmsConsole, removeTempDirs, startServe, tempDir, xksCall } from './helpers.js';

after(() => removeTempDirs());

describe('serve refuses bad throttle settings before touching anything', () => {
  for (const [args, env, reason] of [
    [['--max-in-flight', '-1'], {}, /--max-in-flight \/ \$KEYHOLD_MAX_IN_FLIGHT: must be a whole number of requests, 0 for no limit/],
    [['--max-in-flight', 'lots'], {}, /must be a whole number of requests/],
    [[], { KEYHOLD_MAX_IN_FLIGHT: '2.5' }, /KEYHOLD_MAX_IN_FLIGHT: must be a whole number/],
    [
      ['--shed-after-ms', '250'],
      {},
      /--shed-after-ms \/ \$KEYHOLD_SHED_AFTER_MS: must be under 250 \(KMS gives up on a request after 250 ms\)/,
    ],
    [[], { KEYHOLD_SHED_AFTER_MS: 'soon' }, /KEYHOLD_SHED_AFTER_MS: must be a whole number of milliseconds/],
    [
      ['--shed-on-lag-ms', '250'],
      {},
      /--shed-on-lag-ms \/ \$KEYHOLD_SHED_ON_LAG_MS: must be under 250 \(KMS gives up on a request after 250 ms\)/,
    ],
    [[], { KEYHOLD_SHED_ON_LAG_MS: '-5' }, /KEYHOLD_SHED_ON_LAG_MS: must be a whole number of milliseconds, 0 to never shed on lag/],
  ] as [string[], Record<string, string>, RegExp][]) {
    it(`serve ${args.join(' ') || JSON.stringify(env)} → ${reason.source}`, async () => {
      const dir = tempDir('throttle-bad');
      const result = await keyhold(['serve', '--data-dir', 'fresh', '--port', '0', ...args], { cwd: dir, env });
      assert.match(failureLine(result), reason);
      assert.throws(() => readFileSync(join(dir, 'fresh', 'node-id')), /ENOENT/, 'no data directory was initialized');
    });
  }

  it('serve --max-in-flight 8 --shed-after-ms 50 --shed-on-lag-ms 100 serves XKS requests', async () => {
    const cwd = tempDir('throttle-serve');
    const node = await startServe({
      cwd,
      dataDirArg: 'data',
      args: ['--max-in-flight', '8', '--shed-after-ms', '50', '--shed-on-lag-ms', '100'],
    });
    try {
      const { uriPath, credential } = readKmsConsole(node.dataDir);
      const response = await xksCall(node, { uriPath, operation: 'health', credential });
      assert.equal(response.status, 200, response.text);
    } finally {
      await node.stop();
    }
  });
});
