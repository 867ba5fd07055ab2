import type { PeerCertificate, TLSSocket } from 'node:tls';

/**
 * Mutual TLS on the XKS listener: which client certificates are accepted, and why one is refused.
 *
 *= docs/requirements.md#authentication
 *# 88. [SHOULD] The proxy supports mutual TLS (client certificates).
 *# 89. [MUST] With mTLS, the customer can configure the client certificate's expected subject and its root CA.
 *# 91. [MUST] A customer using mTLS accepts only `CN=cks.kms.<Region>.amazonaws.com` under Amazon Trust Services.
 */

/** Why a client certificate (or its absence) was refused; the metric's `reason` label. */
export type ClientCertRefusal = 'no_certificate' | 'untrusted' | 'expired' | 'self_signed' | 'wrong_subject';

export const CLIENT_CERT_REFUSALS: readonly ClientCertRefusal[] = [
  'no_certificate',
  'untrusted',
  'expired',
  'self_signed',
  'wrong_subject',
];

export type ClientCertVerdict = { ok: true; commonName: string } | { ok: false; reason: ClientCertRefusal; detail: string };

/** The subject CN KMS presents in a region (docs/requirements.md item 91). */
export function kmsClientCommonName(region: string): string {
  return `cks.kms.${region}.amazonaws.com`;
}

/**
 * A CN pattern: `*` stands for one DNS label (no dot), everything else matches literally and case-insensitively;
 * several patterns may be given separated by commas. `cks.kms.*.amazonaws.com` accepts KMS in every region.
 */
export function commonNameMatcher(pattern: string): (commonName: string) => boolean {
  const alternatives = pattern
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (alternatives.length === 0) throw new Error('the client certificate CN pattern is empty');
  const expressions = alternatives.map((part) => {
    if (!/^[A-Za-z0-9*.-]+$/.test(part)) throw new Error(`"${part}" is not a CN pattern (letters, digits, '.', '-' and '*' only)`);
    const body = part
      .split('*')
      .map((literal) => literal.replace(/[.-]/g, (c) => `\\${c}`))
      .join('[A-Za-z0-9-]+');
    return new RegExp(`^${body}$`, 'i');
  });
  return (commonName) => expressions.some((expression) => expression.test(commonName));
}

/** The accepted CNs when no pattern is given: KMS's CN in the region of every loaded keystore. */
export function regionsMatcher(regions: () => Iterable<string>): (commonName: string) => boolean {
  return (commonName) => {
    for (const region of regions()) if (kmsClientCommonName(region).toLowerCase() === commonName.toLowerCase()) return true;
    return false;
  };
}

function commonNameOf(certificate: PeerCertificate): string | undefined {
  const cn: unknown = certificate.subject.CN;
  // A subject with several CNs comes as an array: such a certificate is refused (no single subject to match).
  return typeof cn === 'string' ? cn : undefined;
}

/**
 * Judges the certificate a client presented in the handshake (the server asked for one, verified it against the
 * configured CA bundle and let the handshake finish either way: see client-cert-guard.ts for why).
 *
 *= docs/requirements.md#authentication
 *# 90. [MUST] With mTLS, the handshake fails for a client certificate of another subject or CA, expired or self-signed.
 */
export function judgeClientCertificate(socket: TLSSocket, acceptsCommonName: (commonName: string) => boolean): ClientCertVerdict {
  const certificate = socket.getPeerCertificate();
  if (Object.keys(certificate).length === 0) {
    return { ok: false, reason: 'no_certificate', detail: 'the client sent no certificate' };
  }
  if (!socket.authorized) {
    const code = String(socket.authorizationError);
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
      return { ok: false, reason: 'expired', detail: `the client certificate is outside its validity period (${code})` };
    if (code === 'DEPTH_ZERO_SELF_SIGNED_CERT')
      return { ok: false, reason: 'self_signed', detail: 'the client certificate is self-signed' };
    return { ok: false, reason: 'untrusted', detail: `the client certificate is not issued by the configured CA (${code})` };
  }
  const commonName = commonNameOf(certificate);
  if (commonName === undefined || !acceptsCommonName(commonName)) {
    return {
      ok: false,
      reason: 'wrong_subject',
      detail: `the client certificate's subject CN ${JSON.stringify(commonName ?? '')} is not accepted`,
    };
  }
  return { ok: true, commonName };
}
