import { randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes handed out from a block filled 4 KiB at a time: one call into OpenSSL per ~340 IVs
 * instead of one per request. Every byte is used once; callers get their own copy.
 */
export function createRandomPool(blockSize = 4096): (size: number) => Buffer {
  const block = Buffer.allocUnsafeSlow(blockSize);
  let offset = blockSize;
  return (size: number) => {
    if (size > blockSize) return randomFillSync(Buffer.allocUnsafe(size));
    if (offset + size > blockSize) {
      randomFillSync(block);
      offset = 0;
    }
    const out = Buffer.allocUnsafe(size);
    block.copy(out, 0, offset, offset + size);
    block.fill(0, offset, offset + size);
    offset += size;
    return out;
  };
}
