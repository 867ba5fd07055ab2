/**
 * The bare baseline: the least work an XKS Encrypt endpoint can do over the same transport as
 * Keyhold. A node:https server (HTTP/1.1, keep-alive, TLS ≥ 1.2, same certificate and cipher
 * preference) that reads the body, JSON-parses it, Base64-decodes the plaintext, runs ONE
 * AES-256-GCM encryption under a fixed key with a random 12-byte IV, and answers the Encrypt response
 * shape. No authentication, validation, routing or logging: the ceiling Keyhold is compared to.
 *
 * Run as a child: node bench/baseline-server.mjs --cert FILE --key FILE [--port N]
 * The AES key comes hex-encoded in BENCH_BASELINE_KEY (so the parent can check responses).
 * Reports `{ type: 'ready', port }` over IPC (or stdout when not forked).
 * Plain JavaScript run by plain node, like Keyhold's compiled child, so neither pays for a loader.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { cert: { type: 'string' }, key: { type: 'string' }, port: { type: 'string', default: '0' } },
});
if (!values.cert || !values.key) throw new Error('usage: baseline-server.mjs --cert FILE --key FILE [--port N]');

const aesKey = Buffer.from(process.env.BENCH_BASELINE_KEY ?? '', 'hex');
if (aesKey.length !== 32) throw new Error('BENCH_BASELINE_KEY must be 64 hex characters (an AES-256 key)');
/** Keyhold always returns one; a constant keeps the response the same shape and size. */
const CIPHERTEXT_METADATA = Buffer.from([1]).toString('base64');

const server = createServer(
  {
    cert: readFileSync(values.cert),
    key: readFileSync(values.key),
    minVersion: 'TLSv1.2',
    // Same preference as Keyhold (src/server/tls-options.ts), so both negotiate the same suite.
    ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384',
    honorCipherOrder: true,
    keepAlive: true,
    keepAliveTimeout: 60_000,
  },
  (request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      let status = 200;
      let payload;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
        if (body.additionalAuthenticatedData) cipher.setAAD(Buffer.from(body.additionalAuthenticatedData, 'base64'));
        const ciphertext = Buffer.concat([cipher.update(Buffer.from(body.plaintext, 'base64')), cipher.final()]);
        payload = JSON.stringify({
          ciphertext: ciphertext.toString('base64'),
          ciphertextMetadata: CIPHERTEXT_METADATA,
          initializationVector: iv.toString('base64'),
          authenticationTag: cipher.getAuthTag().toString('base64'),
        });
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

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
