import { createSecureContext } from 'node:tls';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Http2SecureServer } from 'node:http2';
import type { Logger } from 'pino';
import { certificateFacts, type CertificateFacts } from '../metrics/certificate.js';
import { tlsContextOptions, type ClientAuth, type TlsPem } from './tls-options.js';

/** A listener whose certificate follows the files: its server and the client certificates it asks for (their CA bundle follows its file too). */
export interface ReloadableListener {
  server: Http2SecureServer;
  clientAuth?: ClientAuth;
}

/**
 * The certificate and key the node serves, and the client CA bundles its listeners verify client certificates
 * against (--xks-client-ca, --admin-client-ca), reloaded without a restart (docs/security.md#certificate-reload):
 * when a file changes (polled) or on `reload()` (SIGHUP in `keyhold serve`). New handshakes get the new
 * certificate and CAs through setSecureContext; established connections keep theirs and are not dropped. Files
 * that do not load (a half-written file, a key that does not match the certificate, a CA file without a PEM
 * certificate) are refused and logged, and the node keeps serving the previous ones.
 */
export interface ServingCertificate {
  current(): TlsPem;
  /** The serving certificate's name and expiry (the days-to-expiry metric reads this at scrape time). */
  facts(): CertificateFacts;
  /** Reads the files again; true when a new pair or CA bundle was applied. */
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
  let watched: string[] = [];
  const sameAsServed = (next: TlsPem) =>
    Buffer.from(next.certPem).equals(Buffer.from(pem.certPem)) && Buffer.from(next.keyPem).equals(Buffer.from(pem.keyPem));

  /** Each listener's client CA bundle as its file holds it now (undefined: not from a file, or no client certificates). */
  const readCas = (listeners: ReloadableListener[]): (Buffer | undefined)[] =>
    listeners.map((listener) => {
      const path = listener.clientAuth?.caPath;
      if (path === undefined) return undefined;
      const caPem = readFileSync(path);
      if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`${path} holds no PEM certificate`);
      return caPem;
    });
  const caPaths = () => [...new Set(options.listeners().flatMap((listener) => listener.clientAuth?.caPath ?? []))];

  const reload = (): boolean => {
    const listeners = options.listeners();
    let next: TlsPem;
    let nextFacts: CertificateFacts;
    let cas: (Buffer | undefined)[];
    let auths: (ClientAuth | undefined)[];
    try {
      next = files ? read() : pem;
      cas = readCas(listeners);
      auths = listeners.map((listener, i) => {
        const caPem = cas[i];
        return listener.clientAuth && caPem ? { ...listener.clientAuth, caPem } : listener.clientAuth;
      });
      const casChanged = listeners.some((listener, i) => cas[i] !== undefined && !cas[i].equals(Buffer.from(listener.clientAuth!.caPem)));
      if (sameAsServed(next) && !casChanged) return false;
      // Throws on an unreadable certificate, key or CA bundle, or a key that does not match the certificate.
      for (const auth of auths) createSecureContext(tlsContextOptions(next, auth));
      createSecureContext(tlsContextOptions(next));
      nextFacts = certificateFacts(next.certPem);
    } catch (error) {
      logger.error(
        { event: 'tls.reload_failed', reason: error instanceof Error ? error.message : String(error) },
        'TLS certificate not reloaded; still serving the previous one',
      );
      return false;
    }
    const certificateChanged = !sameAsServed(next);
    listeners.forEach((listener, i) => {
      listener.clientAuth = auths[i];
      listener.server.setSecureContext(tlsContextOptions(next, auths[i]));
    });
    pem = next;
    facts = nextFacts;
    logger.info(
      {
        event: 'tls.reloaded',
        certificate: facts.name,
        expiresAt: new Date(facts.expiresAt).toISOString(),
        certificateChanged,
        clientCaFiles: caPaths(),
      },
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
      if (watching) return;
      watching = true;
      watched = [...(files ? [files.certPath, files.keyPath] : []), ...caPaths()];
      for (const path of watched) watchFile(path, { interval: intervalMs, persistent: false }, onChange);
    },
    close() {
      if (!watching) return;
      watching = false;
      for (const path of watched) unwatchFile(path, onChange);
      watched = [];
    },
  };
}
