import type { DataKey } from '../roots/root-of-trust.js';

/**
 * A DataKey opened through the root of trust on its first use rather than when the node starts: a node
 * with 100,000 keys starts in the time it takes to read them, holds open only the keys KMS asks for,
 * and a key whose stored material cannot be opened fails its own requests instead of the whole start.
 * A failed open is not remembered (a PKCS#11 token may be back on the next request).
 */
export function lazyDataKey(open: () => Promise<DataKey>): DataKey {
  let opened: DataKey | undefined;
  let opening: Promise<DataKey> | undefined;

  function dataKey(): DataKey | Promise<DataKey> {
    if (opened) return opened;
    opening ??= open().then(
      (key) => {
        opened = key;
        return key;
      },
      (error: unknown) => {
        opening = undefined;
        throw error;
      },
    );
    return opening;
  }

  return {
    async encrypt(iv, plaintext, aad) {
      return (await dataKey()).encrypt(iv, plaintext, aad);
    },
    async decrypt(iv, ciphertext, aad, tag) {
      return (await dataKey()).decrypt(iv, ciphertext, aad, tag);
    },
  };
}
