import { join, resolve } from 'node:path';

/** Where everything of one node lives. Created by `keyhold init` (or the first `keyhold serve`). */
export interface DataDirPaths {
  root: string;
  database: string;
  masterKey: string;
  /** Shamir mode only: the key that seals SigV4 credential secrets, so a sealed node still authenticates KMS. */
  credentialKey: string;
  /** Which root of trust this node uses (absent: the master key file). */
  rootConfig: string;
  tlsCert: string;
  tlsKey: string;
  adminToken: string;
  nodeId: string;
  /** Written by `serve`: where the admin API listens, so CLI commands can find it. */
  nodeInfo: string;
  kmsConsoleDir: string;
}

export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.KEYHOLD_DATA_DIR ?? 'data');
}

export function dataDirPaths(root: string): DataDirPaths {
  return {
    root,
    database: join(root, 'keyhold.db'),
    masterKey: join(root, 'master.key'),
    credentialKey: join(root, 'credential.key'),
    rootConfig: join(root, 'root.json'),
    tlsCert: join(root, 'tls', 'cert.pem'),
    tlsKey: join(root, 'tls', 'key.pem'),
    adminToken: join(root, 'admin-token'),
    nodeId: join(root, 'node-id'),
    nodeInfo: join(root, 'node.json'),
    kmsConsoleDir: join(root, 'kms-console'),
  };
}

export interface NodeInfo {
  adminUrl: string;
  pid: number;
  startedAt: string;
}
