import { createSecureContext } from 'node:tls';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import type { Logger } from 'pino';
import { certificateFacts, type CertificateFacts } from '../metrics/certificate.js';
import { tlsContextOptions, type ClientAuth, type TlsPem } from './tls-options.js';

/** A listener whose certificate follows the files: its server and the client certificates it asks for. */
export interface ReloadableListener {
  server: Http2SecureServer;
  clientAuth?: ClientAuth;
}

/**
 * The certificate and key the node serves, reloaded without a restart (docs/security.md#certificate-reload):
 * when either file changes (polled) or on `reload()` (SIGHUP in `keyhold serve`). New handshakes get the new
 * certificate through setSecureContext; established connections keep theirs and are not dropped. A pair that
 * does not load (a half-written file, a key that does not match the certificate) is refused and logged, and the
 * node keeps serving the previous one.
 */
export interface ServingCertificate {
  current(): TlsPem;
  /** The serving certificate's name and expiry (the days-to-expiry metric reads this at scrape time). */
  facts(): CertificateFacts;
  /** Reads the files again; true when a new pair was applied. */
  reload(): boolean;
  /** Starts polling the files every `intervalMs`. */
  watch(intervalMs: number): void;
  close(): void;
}

export function createServingCertificate(options: {
  files?: { certPath: string; keyPath: string };
  /** The initial pair (read from the files when not given). */
  pem?: TlsPem;
  listeners: () => ReloadableListener[];
  logger: Logger;
}): ServingCertificate {
  const { files, logger } = options;
  const read = (): TlsPem => {
    if (!files) throw new Error('no certificate files to read');
    return { certPem: readFileSync(files.certPath), keyPem: readFileSync(files.keyPath) };
  };
  let pem = options.pem ?? read();
  let facts = certificateFacts(pem.certPem);
  let watching = false;
  const sameAsServed = (next: TlsPem) =>
    Buffer.from(next.certPem).equals(Buffer.from(pem.certPem)) && Buffer.from(next.keyPem).equals(Buffer.from(pem.keyPem));

  const reload = (): boolean => {
    if (!files) return false;
    let next: TlsPem;
    let nextFacts: CertificateFacts;
    try {
      next = read();
      if (sameAsServed(next)) return false;
      // Throws on an unreadable certificate or key, or a key that does not match the certificate.
      createSecureContext(tlsContextOptions(next));
      nextFacts = certificateFacts(next.certPem);
    } catch (error) {
      logger.error(
        { event: 'tls.reload_failed', reason: error instanceof Error ? error.message : String(error) },
        'TLS certificate not reloaded; still serving the previous one',
      );
      return false;
    }
    for (const listener of options.listeners()) listener.server.setSecureContext(tlsContextOptions(next, listener.clientAuth));
    pem = next;
    facts = nextFacts;
    logger.info(
      { event: 'tls.reloaded', certificate: facts.name, expiresAt: new Date(facts.expiresAt).toISOString() },
      'TLS certificate reloaded',
    );
    return true;
  };
  const onChange = () => void reload();

  return {
    current: () => pem,
    facts: () => facts,
    reload,
    watch(intervalMs) {
      if (!files || watching) return;
      watching = true;
      watchFile(files.certPath, { interval: intervalMs, persistent: false }, onChange);
      watchFile(files.keyPath, { interval: intervalMs, persistent: false }, onChange);
    },
    close() {
      if (!files || !watching) return;
      watching = false;
      unwatchFile(files.certPath, onChange);
      unwatchFile(files.keyPath, onChange);
    },
  };
}
