import { X509Certificate } from 'node:crypto';

export interface CertificateFacts {
  /** The subject CN (what CloudWatch's XksProxyCertificateDaysToExpire calls CertificateName). */
  name: string;
  /** notAfter, epoch milliseconds. */
  expiresAt: number;
}

/** The first certificate of a PEM chain: the one the node serves. */
export function certificateFacts(pem: string | Buffer): CertificateFacts {
  const certificate = new X509Certificate(pem);
  const commonName = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  const dnsName = /DNS:([^,\s]+)/.exec(certificate.subjectAltName ?? '')?.[1];
  return { name: commonName ?? dnsName ?? '(none)', expiresAt: Date.parse(certificate.validTo) };
}
