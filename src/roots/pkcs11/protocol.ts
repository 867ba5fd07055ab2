/**
 * Messages between the main thread and a PKCS#11 worker thread. Each worker owns one session on the
 * token; every call carries an id and gets exactly one reply. Buffers cross as Uint8Array copies.
 */

/** Where the token is and how to log in; sent once per (re)connect and never logged. */
export interface ConnectParams {
  library: string;
  tokenLabel: string;
  pin: string;
  /** Finalize and initialize the library first, so it rescans its tokens (after a lost token). */
  reinitialize: boolean;
}

/** Template of a secret key object created by Keyhold. `id` is the CKA_ID, `label` the CKA_LABEL. */
export interface KeyObjectName {
  id: Uint8Array;
  label: string;
}

export type WorkerRequest =
  | { op: 'connect'; params: ConnectParams }
  | { op: 'disconnect'; finalize: boolean }
  | { op: 'generate'; key: KeyObjectName }
  | { op: 'import'; key: KeyObjectName; material: Uint8Array }
  /** Resolves a key by CKA_ID and checks its label; fails with `notFound` when absent or different. */
  | { op: 'find'; key: KeyObjectName }
  | { op: 'destroy'; id: Uint8Array }
  /** Drops this session's copy of a key (every session is told before the key is destroyed). */
  | { op: 'forget'; id: Uint8Array }
  | { op: 'encrypt'; id: Uint8Array; iv: Uint8Array; aad: Uint8Array; plaintext: Uint8Array }
  | { op: 'decrypt'; id: Uint8Array; iv: Uint8Array; aad: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array }
  | { op: 'tokenInfo' }
  /** Fails with `lost` unless the session is alive and the token still present. */
  | { op: 'probe' };

export interface TokenInfo {
  label: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
}

export type WorkerResult =
  | { op: 'encrypt'; ciphertext: Uint8Array; tag: Uint8Array }
  | { op: 'decrypt'; plaintext: Uint8Array }
  | { op: 'tokenInfo'; info: TokenInfo }
  | { op: 'done' };

/**
 * Why a call failed:
 * - `lost`: the session, login or token is gone (reconnect needed);
 * - `tag`: a GCM tag did not authenticate;
 * - `notFound`: no such key object on the token;
 * - `failed`: anything else (the session is still usable).
 */
export type FailureKind = 'lost' | 'tag' | 'notFound' | 'failed';

export type WorkerReply = { id: number; ok: true; result: WorkerResult } | { id: number; ok: false; kind: FailureKind; message: string };

/** `expiresAt` (epoch ms): the caller has given up by then, so the worker skips the call instead of doing stale work. */
export type WorkerMessage = { id: number; expiresAt: number; request: WorkerRequest };

/**
 * Calls travel in batches: the main thread posts every call made in one turn of its event loop as one
 * message, and the worker answers a batch with one message. Messages, not HSM calls, are the cost here.
 */
export type WorkerBatch = WorkerMessage[];
export type ReplyBatch = WorkerReply[];
