/**
 * What the benchmark measures: variants (a Keyhold server setup and a transport) × operations. One
 * cell = one variant and one operation, measured by saturation and fixed-rate phases against Keyhold
 * and compared with the bare baseline over the same transport for the same operation.
 */
import type { Connection, Protocol } from './load.js';
import { OPERATIONS, type Operation } from './xks-requests.js';

export type RootKind = 'software' | 'hsm';

/** A data directory: how many keys its keystore holds and which root of trust seals them. */
export interface Dataset {
  name: string;
  keys: number;
  root: RootKind;
}

/**
 * How the Keyhold server is started (servers.ts startKeyhold has one branch per kind):
 * - child: bench/keyhold-child.mjs, startNode() in one process, reporting over IPC;
 * - serve: `node bin/keyhold.js serve --data-dir DIR --port 0 [--workers N]`, the shipped CLI.
 */
export type ServerKind = { kind: 'child' } | { kind: 'serve'; workers?: number };

export interface Variant {
  /** Short unique name, e.g. `default`, `keys-100k`, `hsm`, `http2`, `cold`. */
  name: string;
  description: string;
  dataset: Dataset;
  server: ServerKind;
  protocol: Protocol;
  connection: Connection;
  operations: readonly Operation[];
}

export interface Cell {
  variant: Variant;
  operation: Operation;
}

export const TEN_KEYS: Dataset = { name: 'software-10', keys: 10, root: 'software' };
export const MANY_KEYS: Dataset = { name: 'software-100k', keys: 100_000, root: 'software' };
export const HSM_KEYS: Dataset = { name: 'hsm-10', keys: 10, root: 'hsm' };

const CHILD: ServerKind = { kind: 'child' };
const CRYPTO: readonly Operation[] = ['Encrypt', 'Decrypt'];

/**
 * The matrix, in run order. Variants sharing a dataset and server kind are consecutive, so each
 * Keyhold server starts once; only one Keyhold server runs at a time. `workers` > 1 adds the shipped
 * `keyhold serve --workers N` (N worker processes on one port) for the crypto operations.
 */
export function benchmarkMatrix(options: { hsm: boolean; workers: number }): Variant[] {
  const variants: Variant[] = [
    {
      name: 'default',
      description: 'software root, 10 keys, HTTP/1.1 keep-alive',
      dataset: TEN_KEYS,
      server: CHILD,
      protocol: 'h1',
      connection: 'keep-alive',
      operations: OPERATIONS,
    },
    {
      name: 'http2',
      description: 'software root, 10 keys, HTTP/2 keep-alive',
      dataset: TEN_KEYS,
      server: CHILD,
      protocol: 'h2',
      connection: 'keep-alive',
      operations: OPERATIONS,
    },
    {
      name: 'cold',
      description: 'software root, 10 keys, HTTP/1.1, new connection + full TLS handshake per request',
      dataset: TEN_KEYS,
      server: CHILD,
      protocol: 'h1',
      connection: 'cold',
      operations: CRYPTO,
    },
    {
      name: 'keys-100k',
      description: 'software root, 100,000 keys, HTTP/1.1 keep-alive',
      dataset: MANY_KEYS,
      server: CHILD,
      protocol: 'h1',
      connection: 'keep-alive',
      operations: OPERATIONS,
    },
  ];
  if (options.workers > 1) {
    const workers = options.workers;
    variants.push({
      name: `workers-${workers}`,
      description: `keyhold serve --workers ${workers}, software root, 10 keys, HTTP/1.1 keep-alive`,
      dataset: TEN_KEYS,
      server: { kind: 'serve', workers },
      protocol: 'h1',
      connection: 'keep-alive',
      operations: CRYPTO,
    });
  }
  if (options.hsm) {
    variants.push({
      name: 'hsm',
      description: 'SoftHSMv2 root (keys mode), 10 keys, HTTP/1.1 keep-alive',
      dataset: HSM_KEYS,
      server: CHILD,
      protocol: 'h1',
      connection: 'keep-alive',
      operations: OPERATIONS,
    });
  }
  return variants;
}

/** Cells of the same transport and operation share one baseline measurement. */
export const transportKey = (protocol: Protocol, connection: Connection, operation: Operation) => `${protocol}/${connection}/${operation}`;

export const serverKey = (variant: Variant) =>
  `${variant.dataset.name}/${variant.server.kind}${variant.server.kind === 'serve' && variant.server.workers ? `-${variant.server.workers}` : ''}`;
