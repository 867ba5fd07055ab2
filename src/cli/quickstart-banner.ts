import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { isJsonObject, parseJson } from '../core/json.js';
import type { DataDirPaths } from '../core/data-dir.js';
import type { InitResult } from '../server/init.js';
import type { LiveState } from '../registry/live-state.js';

/** A path relative to the working directory when it lies inside it, else absolute. */
export function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** A path as one shell word: as is when plain, else single-quoted. */
function shellWord(text: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function curlCommand(
  url: string,
  region: string,
  uriPath: string,
  accessKeyId: string,
  secretExpression: string,
  certPath: string,
): string {
  const body = JSON.stringify({ requestMetadata: { kmsRequestId: 'keyhold-quickstart', kmsOperation: 'KmsHealthCheck' } });
  return `
Try it (a signed XKS GetHealthStatus request):
  curl --cacert ${shellWord(display(certPath))} -H 'Content-Type: application/json' \\
    --aws-sigv4 "aws:amz:${region}:kms-xks-proxy" --user "${accessKeyId}:"${secretExpression} \\
    --data-binary '${body}' \\
    ${url}${uriPath}/health
`;
}

/** What the first run prints: everything needed to try the demo keystore, the secret included (once). */
export function firstRunBanner(result: InitResult, url: string | undefined): string {
  if (!result.demo) return '';
  const { keystore, credential, kmsConsoleFile } = result.demo;
  const lines = `
Demo keystore "${keystore.name}"
  XKS endpoint         ${url ?? 'https://localhost:8443 (once served)'}
  XKS URI path         ${keystore.uriPath}
  access key id        ${credential.accessKeyId}
  secret access key    ${credential.secret}   (shown only now; kept in the KMS console file below)
  KMS console file     ${display(kmsConsoleFile)}
  demo key id          ${result.demo.keyId}
  admin token file     ${display(result.paths.adminToken)}`;
  if (!url) return lines;
  return (
    lines +
    '\n' +
    curlCommand(url, keystore.region, keystore.uriPath, credential.accessKeyId, `'${credential.secret}'`, result.paths.tlsCert)
  );
}

/** What `serve` says it serves where: one listener for both planes, or the XKS and the admin listener. */
export function servingLine(node: { url: string; adminUrl: string }): string {
  return node.adminUrl === node.url
    ? `serving XKS and the admin API on ${node.url}`
    : `serving XKS on ${node.url} and the admin API on ${node.adminUrl}`;
}

/** What later runs print: the demo keystore again, with a curl command that reads the secret from its file. */
export function laterRunBanner(paths: DataDirPaths, live: LiveState, url: string, demo: { keystore: string; key: string }): string {
  const keystore = live.keystoreByName(demo.keystore);
  const kmsConsoleFile = join(paths.kmsConsoleDir, `${demo.keystore}.json`);
  if (!keystore || !existsSync(kmsConsoleFile)) return '';
  const file = parseJson(readFileSync(kmsConsoleFile, 'utf8'));
  const credential = isJsonObject(file) ? file.XksProxyAuthenticationCredential : undefined;
  const accessKeyId = isJsonObject(credential) ? credential.AccessKeyId : undefined;
  if (typeof accessKeyId !== 'string' || !keystore.secrets.has(accessKeyId)) return '';
  const uriPath = `${keystore.keystore.prefix}/kms/xks/v1`;
  // require() needs './' before a relative path, and nothing before an absolute one (data dir outside cwd).
  const shown = display(kmsConsoleFile);
  const requirePath = isAbsolute(shown) ? shown : `./${shown}`;
  const secretExpression = `"$(node -p "require('${requirePath}').XksProxyAuthenticationCredential.RawSecretAccessKey")"`;
  return `
Demo keystore "${demo.keystore}": URI path ${uriPath}, key "${demo.key}", access key id ${accessKeyId}
  (the secret was shown on the first run; it is in ${shown})
${curlCommand(url, keystore.keystore.region, uriPath, accessKeyId, secretExpression, paths.tlsCert)}`;
}

/** Where the web console is and how to log in to it (docs/console.md); printed by every `serve`. */
export function consoleBanner(url: string, paths: DataDirPaths): string {
  return `Web console            ${url}/console/
  log in with a user's name and password, or choose "API token" and paste the admin token from ${display(paths.adminToken)}`;
}
