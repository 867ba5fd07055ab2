/**
 * A PKCS#11 worker thread: loads the vendor library, holds one logged-in session on the token, and
 * runs the calls the main thread sends, one at a time. PKCS#11 calls are synchronous native code, so
 * they run here and never on the event loop. Messages: ./protocol.ts.
 * Over 300 lines on purpose: everything here shares the thread's one session and its handle cache
 * (module state), and a worker thread loads a single entry file; split, it would pass that state around.
 */
import { parentPort } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import { withInjectedFaults } from './fault-injection.js';
import type {
  ConnectParams,
  FailureKind,
  KeyObjectName,
  ReplyBatch,
  WorkerBatch,
  WorkerMessage,
  WorkerReply,
  WorkerRequest,
  WorkerResult,
} from './protocol.js';

const P = pkcs11js;
const GCM_TAG_BYTES = 16;

/** Return values that mean the session, the login or the token is gone: reconnect. */
const LOST = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_SLOT_ID_INVALID',
]);
/** What libraries answer for a GCM tag that does not authenticate (SoftHSMv2 says CKR_GENERAL_ERROR). */
const TAG_MISMATCH = new Set(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_GENERAL_ERROR']);
const HANDLE_INVALID = new Set(['CKR_OBJECT_HANDLE_INVALID', 'CKR_KEY_HANDLE_INVALID']);

class CallFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

function codeOf(error: unknown): string {
  return error instanceof Error ? (error.message.split(/\s/)[0] ?? '') : String(error);
}

let pkcs11: pkcs11js.PKCS11 | undefined;
let initialized = false;
let session: Buffer | undefined;
let slot: Buffer | undefined;
let tokenLabel = '';
/** Object handles by CKA_ID (hex). Handles die with the session's library instance, so reconnects clear this. */
const handles = new Map<string, Buffer>();

function lib(): pkcs11js.PKCS11 {
  if (!pkcs11) throw new CallFailure('lost', 'PKCS#11 library not loaded');
  return pkcs11;
}

function currentSession(): Buffer {
  if (!session) throw new CallFailure('lost', 'no PKCS#11 session');
  return session;
}

function initialize(): void {
  try {
    lib().C_Initialize({ flags: P.CKF_OS_LOCKING_OK });
  } catch (error) {
    // Another worker of this process initialized the library already.
    if (codeOf(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
  }
  initialized = true;
}

function closeSession(): void {
  // Session copies of keys die with the session.
  if (session && pkcs11) {
    try {
      pkcs11.C_CloseSession(session);
    } catch {
      // Already gone with the token.
    }
  }
  session = undefined;
  handles.clear();
}

function connect(params: ConnectParams): WorkerResult {
  closeSession();
  if (!pkcs11) {
    pkcs11 = withInjectedFaults(new P.PKCS11(), process.env.KEYHOLD_PKCS11_FAULT_FILE);
    pkcs11.load(params.library);
  }
  if (params.reinitialize && initialized) {
    try {
      pkcs11.C_Finalize();
    } catch {
      // Finalized by another worker.
    }
    initialized = false;
  }
  initialize();
  tokenLabel = params.tokenLabel;
  slot = findSlot();
  const opened = pkcs11.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  try {
    pkcs11.C_Login(opened, P.CKU_USER, params.pin);
  } catch (error) {
    // The login state belongs to the application: another session of this process logged in already.
    if (codeOf(error) !== 'CKR_USER_ALREADY_LOGGED_IN') {
      try {
        pkcs11.C_CloseSession(opened);
      } catch {
        // ignore
      }
      throw error;
    }
  }
  session = opened;
  return { op: 'done' };
}

function findSlot(): Buffer {
  for (const candidate of lib().C_GetSlotList(true)) {
    if (lib().C_GetTokenInfo(candidate).label.trim() === tokenLabel) return candidate;
  }
  throw new CallFailure('lost', `no token labelled "${tokenLabel}" is present`);
}

/** Is the session still alive and the token still there? Used to tell a bad tag from a lost device. */
function sessionAlive(): boolean {
  try {
    lib().C_GetSessionInfo(currentSession());
    return slot !== undefined && lib().C_GetTokenInfo(slot).label.trim() === tokenLabel;
  } catch {
    return false;
  }
}

function secretKeyTemplate(key: KeyObjectName): pkcs11js.Template {
  return [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
    { type: P.CKA_ID, value: Buffer.from(key.id) },
    { type: P.CKA_LABEL, value: key.label },
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_PRIVATE, value: true },
    { type: P.CKA_SENSITIVE, value: true },
    { type: P.CKA_EXTRACTABLE, value: false },
    { type: P.CKA_ENCRYPT, value: true },
    { type: P.CKA_DECRYPT, value: true },
    { type: P.CKA_WRAP, value: false },
    { type: P.CKA_UNWRAP, value: false },
    { type: P.CKA_SIGN, value: false },
    { type: P.CKA_VERIFY, value: false },
    { type: P.CKA_DERIVE, value: false },
  ];
}

/** The token objects (not this process's session copies) with a CKA_ID. */
function findObjects(id: Uint8Array): Buffer[] {
  const s = currentSession();
  lib().C_FindObjectsInit(s, [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_ID, value: Buffer.from(id) },
  ]);
  try {
    return lib().C_FindObjects(s, 2);
  } finally {
    lib().C_FindObjectsFinal(s);
  }
}

function handleFor(id: Uint8Array, label?: string): Buffer {
  const hex = Buffer.from(id).toString('hex');
  const cached = handles.get(hex);
  if (cached && label === undefined) return cached;
  const [found, ...others] = findObjects(id);
  if (!found || others.length > 0) throw new CallFailure(sessionAlive() ? 'notFound' : 'lost', `key object ${hex} not found on the token`);
  if (label !== undefined) {
    const [attribute] = lib().C_GetAttributeValue(currentSession(), found, [{ type: P.CKA_LABEL }]);
    if (Buffer.from(attribute?.value ?? []).toString('utf8') !== label) {
      throw new CallFailure('notFound', `key object ${hex} belongs to another record`);
    }
  }
  return cacheSessionCopy(hex, found);
}

/**
 * Keys are used through a session copy of the token object (CKA_TOKEN false; still sensitive and
 * non-extractable, and it never leaves the HSM): libraries check a token object against its storage on
 * every use (SoftHSMv2: ~100-300 µs per call), a session object not (~20 µs). The copy dies with the session;
 * `forget` destroys it when the key is destroyed.
 */
function cacheSessionCopy(hex: string, tokenObject: Buffer): Buffer {
  forget(hex);
  let handle = tokenObject;
  // Not private either (SoftHSMv2 keeps private objects encrypted in memory and decrypts them per use):
  // the copy is still sensitive and non-extractable, and exists only in this process's sessions.
  for (const template of [
    [
      { type: P.CKA_TOKEN, value: false },
      { type: P.CKA_PRIVATE, value: false },
    ],
    [{ type: P.CKA_TOKEN, value: false }],
  ]) {
    try {
      handle = lib().C_CopyObject(currentSession(), tokenObject, template);
      break;
    } catch (error) {
      // A library that cannot copy the key this way is used through the token object.
      if (LOST.has(codeOf(error))) throw error;
    }
  }
  handles.set(hex, handle);
  return handle;
}

function forget(hex: string): void {
  const copy = handles.get(hex);
  handles.delete(hex);
  if (!copy || !session) return;
  try {
    if (lib().C_GetAttributeValue(session, copy, [{ type: P.CKA_TOKEN }])[0]?.value[0] === 0) lib().C_DestroyObject(session, copy);
  } catch {
    // Gone with its session already.
  }
}

/** Runs a call on a key, re-finding the handle once if the cached one went stale. */
function withKey<T>(id: Uint8Array, call: (handle: Buffer) => T): T {
  try {
    return call(handleFor(id));
  } catch (error) {
    if (!HANDLE_INVALID.has(codeOf(error))) throw error;
    forget(Buffer.from(id).toString('hex'));
    return call(handleFor(id));
  }
}

function gcm(iv: Uint8Array, aad: Uint8Array): pkcs11js.Mechanism {
  const parameter: pkcs11js.GcmParams = {
    type: P.CK_PARAMS_AES_GCM,
    iv: Buffer.from(iv),
    ivBits: iv.length * 8,
    aad: Buffer.from(aad),
    tagBits: GCM_TAG_BYTES * 8,
  };
  return { mechanism: P.CKM_AES_GCM, parameter };
}

function perform(request: WorkerRequest): WorkerResult {
  switch (request.op) {
    case 'connect':
      return connect(request.params);
    case 'disconnect':
      closeSession();
      if (request.finalize && pkcs11 && initialized) {
        try {
          pkcs11.C_Finalize();
        } catch {
          // ignore
        }
        initialized = false;
      }
      return { op: 'done' };
    case 'generate': {
      lib().C_GenerateKey(currentSession(), { mechanism: P.CKM_AES_KEY_GEN }, [
        ...secretKeyTemplate(request.key),
        { type: P.CKA_VALUE_LEN, value: 32 },
      ]);
      return { op: 'done' };
    }
    case 'import': {
      const material = Buffer.from(request.material);
      try {
        lib().C_CreateObject(currentSession(), [...secretKeyTemplate(request.key), { type: P.CKA_VALUE, value: material }]);
      } finally {
        material.fill(0);
        request.material.fill(0);
      }
      return { op: 'done' };
    }
    case 'find':
      handleFor(request.key.id, request.key.label);
      return { op: 'done' };
    case 'destroy': {
      forget(Buffer.from(request.id).toString('hex'));
      for (const handle of findObjects(request.id)) lib().C_DestroyObject(currentSession(), handle);
      return { op: 'done' };
    }
    case 'forget':
      forget(Buffer.from(request.id).toString('hex'));
      return { op: 'done' };
    case 'encrypt':
      return withKey(request.id, (handle) => {
        const s = currentSession();
        lib().C_EncryptInit(s, gcm(request.iv, request.aad), handle);
        const out = lib().C_Encrypt(s, Buffer.from(request.plaintext), Buffer.alloc(request.plaintext.length + GCM_TAG_BYTES));
        const split = out.length - GCM_TAG_BYTES;
        return { op: 'encrypt', ciphertext: out.subarray(0, split), tag: out.subarray(split) };
      });
    case 'decrypt':
      return withKey(request.id, (handle) => {
        const s = currentSession();
        lib().C_DecryptInit(s, gcm(request.iv, request.aad), handle);
        const input = Buffer.concat([request.ciphertext, request.tag]);
        try {
          return { op: 'decrypt', plaintext: lib().C_Decrypt(s, input, Buffer.alloc(input.length)) };
        } catch (error) {
          if (TAG_MISMATCH.has(codeOf(error)) && sessionAlive()) throw new CallFailure('tag', 'AES-GCM authentication failed');
          throw error;
        }
      });
    case 'probe':
      if (!sessionAlive()) throw new CallFailure('lost', 'the session or the token is gone');
      return { op: 'done' };
    case 'tokenInfo': {
      if (!slot) throw new CallFailure('lost', 'not connected');
      const info = lib().C_GetTokenInfo(slot);
      return {
        op: 'tokenInfo',
        info: {
          label: info.label.trim(),
          manufacturer: info.manufacturerID.trim(),
          model: info.model.trim(),
          serialNumber: info.serialNumber.trim(),
        },
      };
    }
  }
}

function classify(error: unknown): { kind: FailureKind; message: string } {
  if (error instanceof CallFailure) return { kind: error.kind, message: error.message };
  const code = codeOf(error);
  if (LOST.has(code) || HANDLE_INVALID.has(code)) return { kind: 'lost', message: code };
  // A general error outside a decrypt usually means the library lost the token under us.
  if (code === 'CKR_GENERAL_ERROR' && !sessionAlive()) return { kind: 'lost', message: code };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: 'failed', message: code.startsWith('CKR_') ? code : (message.split('\n')[0] ?? '') };
}

const port = parentPort;
if (!port) throw new Error('the PKCS#11 worker runs only as a worker thread (session-pool.ts starts it)');

port.on('message', (batch: WorkerBatch) => {
  const replies: ReplyBatch = batch.map(({ id, expiresAt, request }: WorkerMessage): WorkerReply => {
    // Under overload, work whose caller has timed out is shed, so the queue drains instead of collapsing.
    if (Date.now() > expiresAt) return { id, ok: false, kind: 'failed', message: 'expired before the HSM was free' };
    try {
      return { id, ok: true, result: perform(request) };
    } catch (error) {
      return { id, ok: false, ...classify(error) };
    }
  });
  port.postMessage(replies);
});
