import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface PemPair {
  certPem: string;
  keyPem: string;
}

/**
 *= docs/requirements.md#transport
 *# 10. [MUST] TLS server authentication as usual: the server certificate names the endpoint's DNS name.
 *
 * A self-signed ECDSA P-256 certificate for local use (the development default). Production endpoints
 * need a certificate from a CA that AWS KMS trusts (docs/requirements.md#transport); pass --tls-cert/--tls-key.
 */
export async function createSelfSignedCertificate(options: { hostnames: string[]; validDays?: number; now?: Date }): Promise<PemPair> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const notBefore = options.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + (options.validDays ?? 397) * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${options.hostnames[0]}`,
    notBefore,
    notAfter,
    keys: keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        options.hostnames.map((value) => (/^[\d.]+$|:/.test(value) ? { type: 'ip', value } : { type: 'dns', value })),
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem') + '\n', keyPem };
}
