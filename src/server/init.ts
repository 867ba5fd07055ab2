import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateApiToken } from '../access/tokens.js';
import type { Clock } from '../core/clock.js';
import { conflict, invalid } from '../core/errors.js';
import { createMasterKeyFile } from '../roots/master-key-file.js';
import type { RootOfTrust } from '../roots/root-of-trust.js';
import { initShamirRoot } from '../roots/shamir/init-shamir.js';
import { validateShareCounts } from '../roots/shamir/shares.js';
import { writeRootConfig, type Pkcs11RootConfig, type RootConfig } from '../roots/root-config.js';
import { dataDirPaths, type DataDirPaths } from '../core/data-dir.js';
import { openServices, type Services } from './services.js';
import { createSelfSignedCertificate } from './self-signed-cert.js';
import type { NewCredential, KeystoreView } from '../keystores/keystore-service.js';

export const DEMO_KEYSTORE = 'demo';
export const DEMO_PREFIX = '/demo';
export const DEMO_KEY = 'demo-key';

export interface InitOptions {
  dataDir: string;
  databaseUrl?: string;
  demo: boolean;
  clock: Clock;
  hostnames?: string[];
  /** Split the master key into Shamir shares instead of keeping it in master.key; the node then starts sealed. */
  shamir?: { shares: number; threshold: number };
  /** The root of trust to set up (default: a master key file). */
  root?: RootConfig;
}

export interface InitResult {
  paths: DataDirPaths;
  adminToken: string;
  /** Shamir mode: the encoded shares, to be shown once; they are stored nowhere. */
  shares?: { shares: string[]; threshold: number };
  demo?: { keystore: KeystoreView; credential: NewCredential; keyId: string; kmsConsoleFile: string };
}

function writePrivate(path: string, contents: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, contents, { mode: 0o600, flag: 'wx' });
}

/**
 * Creates a data directory: master key, TLS certificate, admin token, database with the health canary,
 * and (unless told otherwise) a demo keystore and key. Refuses to touch an existing directory; on any
 * failure removes what it created, so nothing is left half-done.
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const paths = dataDirPaths(options.dataDir);
  if (existsSync(paths.root) && readdirSync(paths.root).length > 0) {
    throw conflict(`data directory ${paths.root} already exists and is not empty; refusing to touch it`);
  }
  if (options.shamir) validateShareCounts(options.shamir.shares, options.shamir.threshold);
  if (options.shamir && options.root) throw invalid('Shamir shares split a master key; they do not combine with a PKCS#11 root of trust');
  const createdRoot = !existsSync(paths.root);
  mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  let services: Services | undefined;
  let root: RootOfTrust | undefined;
  let shares: string[] | undefined;
  let hsmMasterKey: Pkcs11RootConfig | undefined;
  try {
    if (options.shamir) ({ root, shares } = await initShamirRoot(paths, options.shamir));
    else if (options.root?.kind === 'pkcs11') {
      // The master key is created on the token; root.json names it, and no master.key file exists.
      const { createPkcs11MasterKey } = await import('../roots/pkcs11/pkcs11-root.js');
      hsmMasterKey = await createPkcs11MasterKey(options.root);
      writeRootConfig(paths.rootConfig, hsmMasterKey);
    } else {
      createMasterKeyFile(paths.masterKey);
    }
    const pem = await createSelfSignedCertificate({
      hostnames: options.hostnames ?? ['localhost', '127.0.0.1', '::1'],
      now: new Date(options.clock.now()),
    });
    writePrivate(paths.tlsCert, pem.certPem);
    writePrivate(paths.tlsKey, pem.keyPem);
    writePrivate(paths.nodeId, `${randomUUID()}\n`);
    const adminToken = generateApiToken();
    writePrivate(paths.adminToken, `${adminToken}\n`);

    services = await openServices({ paths, databaseUrl: options.databaseUrl, clock: options.clock, root });
    await services.access.addBootstrapToken(adminToken);
    await services.keys.ensureCanary();

    const result: InitResult = { paths, adminToken };
    if (shares && options.shamir) result.shares = { shares, threshold: options.shamir.threshold };
    if (options.demo) {
      const { keystore, credential } = await services.keystores.create({ name: DEMO_KEYSTORE, prefix: DEMO_PREFIX });
      await services.keys.create({ id: DEMO_KEY, keystore: DEMO_KEYSTORE });
      const kmsConsoleFile = join(paths.kmsConsoleDir, `${DEMO_KEYSTORE}.json`);
      writePrivate(kmsConsoleFile, JSON.stringify(await services.keystores.kmsConsoleJson(DEMO_KEYSTORE), null, 2) + '\n');
      result.demo = { keystore, credential, keyId: DEMO_KEY, kmsConsoleFile };
    }
    return result;
  } catch (error) {
    if (!services) await root?.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
    services = undefined;
    if (hsmMasterKey) {
      // Best effort: a failed init leaves no master key behind on the token.
      const { destroyPkcs11MasterKey } = await import('../roots/pkcs11/pkcs11-root.js');
      await destroyPkcs11MasterKey(hsmMasterKey).catch(() => undefined);
    }
    if (createdRoot) rmSync(paths.root, { recursive: true, force: true });
    else for (const entry of readdirSync(paths.root)) rmSync(join(paths.root, entry), { recursive: true, force: true });
    throw error;
  } finally {
    await services?.close();
  }
}
