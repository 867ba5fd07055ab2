// Syslog forwarding to a real TCP listener on loopback: RFC 5424 messages in RFC 6587 octet-counting
// frames, and nothing lost across a collector restart.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createSelfSignedCertificate } from '../../src/server/self-signed-cert.js';
import { before, describe, it } from 'node:test';
import { startSyslogForwarder } from '../../src/audit/forward-to-syslog.js';
import { frame, syslogMessage } from '../../src/audit/syslog-format.js';
import { parseSyslogUrl } from '../../src/audit/syslog-forwarder.js';
import { dialectTarget, dialectTargets } from '../helpers/dialects.js';
import { auditDatabase, sampleEvent, silentLogger, type ChainFixture } from './fixture.js';

/** A collector: parses octet-counted frames from every connection. */
function collector() {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const handle = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (buffer.length < space + 1 + length) return;
        messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
  };
  return {
    messages,
    async listen(port = 0): Promise<number> {
      server = createServer(handle);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
      return (server.address() as { port: number }).port;
    },
    async stop(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    },
    seqs: () => new Set(messages.map((m) => Number(/ seq="(\d+)"/.exec(m)![1]))),
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('formats RFC 5424 with structured data and frames it by octet count', () => {
  const event = {
    ...sampleEvent(1, Date.UTC(2026, 10, 28, 12, 0, 0), { detail: 'a "quoted" ] value\\' }),
    chain: 'node-1',
    seq: 7,
    prevHash: '0'.repeat(64),
    hash: 'ab'.repeat(32),
  };
  const message = syslogMessage(event, 'host-a');
  assert.match(
    message,
    /^<110>1 2026-11-28T12:00:00\.000Z host-a keyhold \d+ xks \[keyhold@32473 chain="node-1" seq="7" hash="(ab){32}" action="Encrypt" outcome="success" keystore="demo" keyId="key-1" kmsRequestId="req-1"\] \{/,
  );
  assert.deepEqual((JSON.parse(message.slice(message.indexOf('] {') + 2)) as { seq: number }).seq, 7);
  const framed = frame('héllo');
  assert.equal(framed.toString('utf8'), '6 héllo');
  assert.deepEqual(parseSyslogUrl('tls://logs.example:6514'), { protocol: 'tls', host: 'logs.example', port: 6514, ca: undefined });
  assert.throws(() => parseSyslogUrl('udp://x:514'), /expected tcp:\/\/host:port/);
});

for (const target of dialectTargets()) {
  describe(`syslog forwarding on ${target.name}`, () => {
    const suite = auditDatabase(target);
    let f: ChainFixture;
    before(async () => {
      f = await suite.openChain({ checkpointEvery: 1000 });
    });

    it('loses nothing across a collector restart (duplicates only from the unacknowledged tail)', async () => {
      const sink = collector();
      const port = await sink.listen();
      const forwarder = await startSyslogForwarder({
        audit: f.audit,
        chain: f.chain,
        target: parseSyslogUrl(`tcp://127.0.0.1:${port}`),
        logger: silentLogger,
        pollMs: 50,
        ackDelayMs: 100,
        minBackoffMs: 20,
        maxBackoffMs: 100,
      });
      const stopWaking = f.log.onCommit(() => forwarder.wake());
      try {
        let n = 0;
        const produce = async (count: number) => {
          for (let i = 0; i < count; i++) await f.log.append(sampleEvent(++n, Date.now()));
        };
        await produce(50);
        await until(() => sink.seqs().size >= 20, 'the first events');
        await sink.stop(); // mid-stream
        await produce(100); // keep producing while the collector is down
        await sink.listen(port);
        await produce(50);
        await until(() => sink.seqs().size === 200, 'every event after the restart');
        assert.deepEqual(
          [...sink.seqs()].sort((a, b) => a - b),
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        await until(() => forwarder.status().forwardedSeq === 200, 'the persisted cursor');
        assert.equal((await f.audit.getChain(f.chain))?.forwardedSeq, 200);
      } finally {
        stopWaking();
        await forwarder.stop();
        await sink.stop();
      }
    });
  });
}

describe('syslog forwarding over TLS', () => {
  const suite = auditDatabase(dialectTarget('sqlite'));
  let f: ChainFixture;
  before(async () => {
    f = await suite.openChain({ checkpointEvery: 1000 });
  });

  it('tls://: verifies the collector against the given CA and delivers every event; an untrusted collector gets nothing', async () => {
    const pem = await createSelfSignedCertificate({ hostnames: ['localhost'] });
    const received: string[] = [];
    const server = createTlsServer({ cert: pem.certPem, key: pem.keyPem }, (socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk.toString('utf8')));
      socket.on('error', () => {});
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    for (let i = 1; i <= 5; i++) await f.log.append(sampleEvent(i, Date.now()));
    const options = {
      audit: f.audit,
      chain: f.chain,
      logger: silentLogger,
      pollMs: 50,
      ackDelayMs: 100,
      minBackoffMs: 20,
      maxBackoffMs: 100,
    };
    // Without the CA the self-signed collector is refused: nothing is sent in the clear or to an impostor.
    const untrusted = await startSyslogForwarder({ ...options, target: parseSyslogUrl(`tls://localhost:${port}`) });
    await new Promise((r) => setTimeout(r, 300));
    await untrusted.stop();
    assert.equal(received.join(''), '');
    const trusted = await startSyslogForwarder({ ...options, target: parseSyslogUrl(`tls://localhost:${port}`, Buffer.from(pem.certPem)) });
    try {
      await until(() => new Set(received.join('').match(/ seq="\d+"/g) ?? []).size === 5, 'five events over TLS');
      assert.match(received.join(''), /^\d+ <11\d>1 /);
    } finally {
      await trusted.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
