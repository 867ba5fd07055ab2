/**
 * Fault injection for the PKCS#11 worker, for tests and fault drills: when $KEYHOLD_PKCS11_FAULT_FILE names a
 * file, every `C_*` call on the real library first reads it. The file holds a plan (JSON):
 *   {}                                              no fault (an empty or missing file too)
 *   {"code": "CKR_DEVICE_ERROR"}                    every call fails with that return value
 *   {"code": "…", "functions": ["C_EncryptInit"]}   only those functions fail
 *   {"hangMs": 5000}                                every call blocks its worker thread that long first (a hung HSM)
 * The library underneath is the real one (SoftHSMv2 in tests): only the answer is replaced, as a failing
 * device would give it. Without the variable the library is returned untouched.
 */
import { readFileSync } from 'node:fs';

interface FaultPlan {
  code?: string;
  hangMs?: number;
  functions?: string[];
}

function readPlan(file: string): FaultPlan {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? {} : (JSON.parse(text) as FaultPlan);
  } catch {
    return {};
  }
}

/** The library, with faults from `file` injected into its C_* calls (the library itself when `file` is unset). */
export function withInjectedFaults<Library extends object>(library: Library, file: string | undefined): Library {
  if (!file) return library;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  return new Proxy(library, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      // Native methods must run on the native object, never on the proxy ("Illegal invocation").
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof property !== 'string' || !property.startsWith('C_')) return method;
      return (...args: unknown[]): unknown => {
        const plan = readPlan(file);
        if (!plan.functions || plan.functions.includes(property)) {
          // Blocks this worker thread only, as a native call into a hung device would.
          if (plan.hangMs) Atomics.wait(sleeper, 0, 0, plan.hangMs);
          // pkcs11js errors start with the CKR_ name; the worker classifies them by it.
          if (plan.code) throw new Error(`${plan.code} (injected fault in ${property})`);
        }
        return method(...args);
      };
    },
  });
}
