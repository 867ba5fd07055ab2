import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { createIpcChannel, IpcError, type IpcEndpoint } from '../../../src/server/cluster/ipc.js';
import { parseWorkers } from '../../../src/server/cluster/workers-option.js';

/** One end of a real MessageChannel, shaped as the IPC endpoint of a process. */
function endpointOf(port: MessagePort): IpcEndpoint {
  return {
    send: (message, callback) => {
      port.postMessage(message);
      callback?.(null);
    },
    on: (event, listener) => port.on(event, listener),
    off: (event, listener) => port.off(event, listener),
  };
}

type Left = {
  sendsRequests: {
    add: { body: { a: number; b: number }; reply: number };
    fail: { body: null; reply: never };
    slow: { body: null; reply: string };
    missing: { body: null; reply: null };
  };
  sendsNotices: { hello: { from: string } };
  handlesRequests: Record<string, never>;
  handlesNotices: Record<string, never>;
};
type Right = {
  sendsRequests: Record<string, never>;
  sendsNotices: Record<string, never>;
  handlesRequests: Left['sendsRequests'];
  handlesNotices: Left['sendsNotices'];
};

const channels: MessageChannel[] = [];
after(() => channels.forEach((c) => (c.port1.close(), c.port2.close())));

function pair() {
  const channel = new MessageChannel();
  channels.push(channel);
  const left = createIpcChannel<Left>(endpointOf(channel.port1), { defaultTimeoutMs: 2_000 });
  const right = createIpcChannel<Right>(endpointOf(channel.port2));
  return { left, right, port: channel.port1 };
}

describe('the IPC channel between primary and workers', () => {
  it("answers requests by type, passes notices, and sends a handler's error back as a rejection", async () => {
    const { left, right } = pair();
    right.handle('add', ({ a, b }) => a + b);
    right.handle('fail', () => Promise.reject(new Error('cannot do that')));
    const notices: string[] = [];
    right.onNotice('hello', ({ from }) => notices.push(from));
    assert.deepEqual(await Promise.all([left.request('add', { a: 2, b: 3 }), left.request('add', { a: 10, b: -4 })]), [5, 6]);
    await assert.rejects(left.request('fail', null), (error: Error) => error instanceof IpcError && error.message === 'cannot do that');
    await assert.rejects(left.request('missing', null), /no handler for "missing"/);
    await left.notify('hello', { from: 'worker 1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(notices, ['worker 1']);
  });

  it('a request nobody answers times out; close() rejects what waits and refuses new requests', async () => {
    const { left, right } = pair();
    right.handle('slow', () => new Promise<string>(() => undefined));
    await assert.rejects(left.request('slow', null, { timeoutMs: 50 }), /no answer to "slow" within 50 ms/);
    const waiting = left.request('slow', null);
    left.close('the worker exited');
    await assert.rejects(waiting, /the worker exited/);
    await assert.rejects(left.request('add', { a: 1, b: 1 }), /the worker exited/);
  });

  it("ignores messages that are not its envelopes (Node's own cluster messages share the pipe)", async () => {
    const { left, right, port } = pair();
    right.handle('add', ({ a, b }) => a + b);
    port.postMessage({ cmd: 'NODE_CLUSTER', act: 'online' });
    port.postMessage('plain text');
    assert.equal(await left.request('add', { a: 1, b: 2 }), 3);
  });
});

describe('--workers values', () => {
  it('whole numbers from 1 to 64, or auto for the cores the platform offers', () => {
    assert.equal(
      parseWorkers('1', () => 8),
      1,
    );
    assert.equal(
      parseWorkers(' 64 ', () => 8),
      64,
    );
    assert.equal(
      parseWorkers('auto', () => 6),
      6,
    );
    assert.equal(
      parseWorkers('auto', () => 500),
      64,
    );
    for (const bad of ['0', '65', '-1', '1.5', 'abc', '', '2x', '1e1']) {
      assert.throws(() => parseWorkers(bad, () => 2), new RegExp(`from 1 to 64, or auto \\(got "${bad.replace('.', '\\.')}"\\)`), bad);
    }
  });
});
