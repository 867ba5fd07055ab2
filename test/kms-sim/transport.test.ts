/** HTTPS to the proxy: keep-alive, TLS policy, deadline and the single retry. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerOptions } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { KMS_MESSAGES } from '../../src/kms-sim/error-mapping.js';
import { isKmsError } from '../../src/kms-sim/kms-error.js';
import { createHttpsTransport, isTransportFailure, type HttpRequestSpec } from '../../src/kms-sim/transport.js';
import { ACCESS_KEY_ID, connectedKey, SECRET, simulatorFor, storeInput, testCertificate, URI_PATH, withProxy } from './fixtures/harness.js';

const request: HttpRequestSpec = { method: 'POST', path: '/x', headers: { host: 'localhost' }, body: Buffer.from('{}') };

/** A tiny HTTPS server answering `status` after `delayMs`, with extra TLS options. */
async function rawServer(tls: Partial<ServerOptions> = {}, status = 200, delayMs = 0) {
  let hits = 0;
  const server = createServer({ key: testCertificate().key, cert: testCertificate().cert, ...tls }, (_req, res) => {
    hits += 1;
    setTimeout(() => {
      if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json' }).end('{"errorName":"DependencyTimeoutException"}');
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = new URL(`https://localhost:${(server.address() as AddressInfo).port}`);
  return {
    origin,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('HTTPS transport', () => {
  it('reuses one TLS connection across calls (HTTP/1.1 keep-alive)', () =>
    withProxy({}, async (server, sim) => {
      const { key } = await connectedKey(sim, server);
      for (let i = 0; i < 5; i += 1) await sim.encrypt({ keyId: key.keyId, plaintext: Buffer.from('x') });
      assert.equal(server.tlsConnections(), 1);
    }));

  it('does not retry HTTP errors', async () => {
    const server = await rawServer({}, 503);
    const transport = createHttpsTransport({ tls: { ca: testCertificate().cert } });
    try {
      const result = await transport.send(server.origin, () => Promise.resolve(request));
      assert.ok(!isTransportFailure(result.outcome));
      assert.equal(result.outcome.response.status, 503);
      assert.equal(result.attempts, 1);
      assert.equal(server.hits(), 1);
    } finally {
      transport.close();
      await server.close();
    }
  });

  it('signs every attempt afresh (prepare runs once per attempt)', async () => {
    const server = await rawServer({}, 200, 120);
    const transport = createHttpsTransport({ tls: { ca: testCertificate().cert }, deadlineMs: 60 });
    let prepared = 0;
    try {
      const result = await transport.send(server.origin, () => {
        prepared += 1;
        return Promise.resolve(request);
      });
      assert.ok(isTransportFailure(result.outcome) && result.outcome.failure === 'timeout');
      assert.equal(result.attempts, 2);
      assert.equal(prepared, 2);
    } finally {
      transport.close();
      await server.close();
    }
  });

  it('sends a new X-Amz-Date on the retry', () =>
    withProxy({}, async (server) => {
      let tick = 0;
      const start = Date.now();
      const sim = simulatorFor({ clock: { now: () => start + 1000 * tick++ } });
      try {
        const store = await sim.createCustomKeyStore(storeInput(server));
        const from = server.requests.length;
        server.setDelay((index) => (index >= from ? 300 : 0));
        await sim.connectCustomKeyStore(store.id);
        const [first, retry] = server.requests.slice(from);
        assert.notEqual(first?.headers['x-amz-date'], retry?.headers['x-amz-date']);
      } finally {
        sim.close();
      }
    }));

  it('classifies a refused TCP connection without retrying', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const transport = createHttpsTransport();
    try {
      const result = await transport.send(new URL(`https://localhost:${port}`), () => Promise.resolve(request));
      assert.ok(isTransportFailure(result.outcome));
      assert.equal(result.outcome.failure, 'tcp');
      assert.equal(result.attempts, 1);
    } finally {
      transport.close();
    }
    const sim = simulatorFor();
    try {
      await assert.rejects(
        sim.createCustomKeyStore({
          name: 'refused',
          uriEndpoint: `https://localhost:${port}`,
          uriPath: URI_PATH,
          credential: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET },
        }),
        (error: unknown) => isKmsError(error, 'XksProxyUriUnreachableException') && error.message === KMS_MESSAGES.noTcp,
      );
      assert.deepEqual(
        [sim.metrics.calls.at(-1)?.errorType, sim.metrics.calls.at(-1)?.exceptionName],
        ['Retryable errors', 'XksProxyUnreachableException'],
      );
    } finally {
      sim.close();
    }
  });

  it('refuses an untrusted certificate (no TLS connection), unless told to be insecure', () =>
    withProxy({}, async (server) => {
      const untrusting = simulatorFor({ tls: {} });
      const insecure = simulatorFor({ tls: { insecure: true } });
      try {
        await assert.rejects(
          untrusting.createCustomKeyStore(storeInput(server)),
          (error: unknown) => isKmsError(error, 'XksProxyUriUnreachableException') && error.message === KMS_MESSAGES.noTls,
        );
        const store = await insecure.createCustomKeyStore(storeInput(server));
        assert.equal(store.connectionState, 'DISCONNECTED');
      } finally {
        untrusting.close();
        insecure.close();
      }
    }));

  it('checks the host name against the certificate (servername override)', () =>
    withProxy({}, async (server) => {
      const wrongName = simulatorFor({ tls: { ca: testCertificate().cert, servername: 'xks.example.com' } });
      try {
        await assert.rejects(
          wrongName.createCustomKeyStore(storeInput(server)),
          (error: unknown) => isKmsError(error) && error.message === KMS_MESSAGES.noTls,
        );
      } finally {
        wrongName.close();
      }
    }));

  it('refuses TLS below 1.2 and servers without one of the four KMS cipher suites', async () => {
    for (const tls of [
      { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' },
      { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' },
    ] satisfies Array<Partial<ServerOptions>>) {
      const server = await rawServer(tls);
      const transport = createHttpsTransport({ tls: { ca: testCertificate().cert } });
      try {
        const result = await transport.send(server.origin, () => Promise.resolve(request));
        assert.ok(isTransportFailure(result.outcome), JSON.stringify(tls));
        assert.equal(result.outcome.failure, 'tls', `${JSON.stringify(tls)}: ${result.outcome.message}`);
      } finally {
        transport.close();
        await server.close();
      }
    }
    const good = await rawServer({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    const transport = createHttpsTransport({ tls: { ca: testCertificate().cert } });
    try {
      assert.ok(!isTransportFailure((await transport.send(good.origin, () => Promise.resolve(request))).outcome));
    } finally {
      transport.close();
      await good.close();
    }
  });
});
