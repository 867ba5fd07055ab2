/**
 * The bare baseline: the least work an XKS endpoint can do over the same transport as Keyhold. A
 * node:http2 secure server with HTTP/1.1 fallback (`allowHTTP1`, as Keyhold's), the same TLS
 * settings (Keyhold's own tlsServerOptions) and certificate, that reads the body, JSON-parses it and
 * answers by the path's last segment:
 *   /encrypt   ONE AES-256-GCM encryption under a fixed key with a random 12-byte IV (Encrypt shape)
 *   /decrypt   ONE AES-256-GCM decryption under the same key (Decrypt shape)
 *   /metadata  a constant GetKeyMetadata answer
 *   /health    a constant GetHealthStatus answer
 * No authentication, validation, routing tables, audit or logging: the ceiling Keyhold is compared to.
 *
 * Run as a child: node bench/baseline-server.mjs --cert FILE --key FILE [--port N]
 * The AES key comes hex-encoded in BENCH_BASELINE_KEY (so the parent can check responses).
 * Reports `{ type: 'ready', port }` over IPC (or stdout when not forked).
 * Plain JavaScript run by plain node, like Keyhold's compiled child, so neither pays for a loader.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { parseArgs } from 'node:util';
import { tlsServerOptions } from '../dist/server/tls-options.js';

const { values } = parseArgs({
  options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } },
});
if (!values.cert || !values.key) throw new Error('usage: baseline-server.mjs --cert FILE --key FILE [--port N]');

const aesKey = Buffer.from(process.env.BENCH_BASELINE_KEY ?? '', 'hex');
if (aesKey.length !== 32) throw new Error('BENCH_BASELINE_KEY must be 64 hex characters (an AES-256 key)');
/** Keyhold always returns one; a constant keeps the response the same shape and size. */
const CIPHERTEXT_METADATA = Buffer.from([1]).toString('base64');
const METADATA = JSON.stringify({ keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
const HEALTH = JSON.stringify({
  xksProxyFleetSize: 1,
  xksProxyVendor: 'baseline',
  xksProxyModel: 'baseline',
  ekmVendor: 'baseline',
  ekmFleetDetails: [{ id: 'baseline-1', model: 'baseline', healthStatus: 'ACTIVE' }],
});

function encrypt(body) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  if (body.additionalAuthenticatedData) cipher.setAAD(Buffer.from(body.additionalAuthenticatedData, 'base64'));
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(body.plaintext, 'base64')), cipher.final()]);
  return JSON.stringify({
    ciphertext: ciphertext.toString('base64'),
    ciphertextMetadata: CIPHERTEXT_METADATA,
    initializationVector: iv.toString('base64'),
    authenticationTag: cipher.getAuthTag().toString('base64'),
  });
}

function decrypt(body) {
  const decipher = createDecipheriv('aes-256-gcm', aesKey, Buffer.from(body.initializationVector, 'base64'));
  if (body.additionalAuthenticatedData) decipher.setAAD(Buffer.from(body.additionalAuthenticatedData, 'base64'));
  decipher.setAuthTag(Buffer.from(body.authenticationTag, 'base64'));
  const plaintext = Buffer.concat([decipher.update(Buffer.from(body.ciphertext, 'base64')), decipher.final()]);
  return JSON.stringify({ plaintext: plaintext.toString('base64') });
}

const answer = { encrypt, decrypt, metadata: () => METADATA, health: () => HEALTH };

const server = createSecureServer(
  { ...tlsServerOptions({ certPem: readFileSync(values.cert), keyPem: readFileSync(values.key) }) },
  (request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let status = 200;
      let payload;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const operation = answer[request.url.slice(request.url.lastIndexOf('/') + 1)];
        if (!operation) throw new Error('unknown operation');
        payload = operation(body);
      } catch {
        status = 400;
        payload = JSON.stringify({ errorName: 'ValidationException' });
      }
      response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
      response.end(payload);
    });
  },
);

server.listen(Number(values.port), '127.0.0.1', () => {
  const ready = { type: 'ready', port: server.address().port };
  if (process.send) process.send(ready);
  else console.log(JSON.stringify(ready));
});

/** Open connections (HTTP/1.1 sockets and HTTP/2 sessions' sockets), destroyed on stop. */
const sockets = new Set();
server.on('secureConnection', (socket) => {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
});

const stop = () => {
  server.close(() => process.exit(0));
  for (const socket of sockets) socket.destroy();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
