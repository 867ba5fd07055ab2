/** Helpers for the `serve --workers` CLI tests: which worker answered, bursts over fresh connections. */
import assert from 'node:assert/strict';
import { adminGet, xksCall, type Credential, type ServedNode } from './helpers.js';

export interface WorkerStatus {
  nodeId: string;
  worker: { index: number; count: number; pid: number };
}

/** GET /node over `count` fresh connections: which workers answered. */
export async function workersAnswering(node: ServedNode, count = 12): Promise<Map<number, WorkerStatus>> {
  const seen = new Map<number, WorkerStatus>();
  for (let i = 0; i < count; i++) {
    const status = await adminGet<WorkerStatus>(node, '/node');
    assert.equal(status.status, 200, status.text);
    assert.ok(status.json, status.text);
    seen.set(status.json.worker.index, status.json);
  }
  return seen;
}

/** `count` signed Encrypt requests, `parallel` at a time, each on a new connection; their statuses. */
export async function encryptBurst(
  node: ServedNode,
  target: { uriPath: string; credential: Credential },
  keyId: string,
  count = 16,
  parallel = 4,
): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, () => xksCall(node, { ...target, operation: 'encrypt', keyId })),
    );
    statuses.push(...batch.map((r) => r.status));
  }
  return statuses;
}

/** The JSON log lines `serve` printed (workers' and the primary's). */
export function logLines(node: ServedNode): Record<string, unknown>[] {
  return node
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
