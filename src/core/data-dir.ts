import { join, resolve } from 'node:path';

/**
 * Where everything of one node lives. Created by `keyhold init` (or the first `keyhold serve`).
 * The layout is shared by every layer that keeps a file there (roots of trust, the audit spool, the
 * server, the CLI), so it sits here at the bottom rather than with any one of them.
 */
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
  /** The audit spool of a single-process node's chain (worker N of `serve --workers` uses workerAuditSpool(N)). */
  auditSpool: string;
}

/** The spool of a single-process node's chain. */
export const AUDIT_SPOOL_FILE = 'audit-spool.jsonl';
/** The spool of worker N's chain under `serve --workers` (each worker is a chain of its own). */
export const workerAuditSpoolFile = (worker: number): string => `audit-spool-w${worker}.jsonl`;

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
    auditSpool: join(root, AUDIT_SPOOL_FILE),
  };
}

/** The path of worker N's audit spool in a data directory. */
export const workerAuditSpool = (paths: Pick<DataDirPaths, 'root'>, worker: number): string =>
  join(paths.root, workerAuditSpoolFile(worker));

/** What `serve` writes to `node.json`: where the admin API listens, so CLI commands can find it. */
export interface NodeInfo {
  adminUrl: string;
  /** The XKS listener (the same as adminUrl in single-listener mode). */
  xksUrl?: string;
  pid: number;
  startedAt: string;
}
