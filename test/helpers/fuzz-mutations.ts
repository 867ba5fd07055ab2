/**
 * Deterministic JSON-tree, text and Base64 mutations for property-based fuzzing of the XKS data plane.
 * Every function takes its randomness as arguments (chosen by fast-check), so a seed reproduces a run.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

interface Position {
  parent: Container;
  key: string | number;
}

const isContainer = (value: Json): value is Container => typeof value === 'object' && value !== null;

/** Every non-root position in the tree, depth-first. */
export function positions(root: Json): Position[] {
  const out: Position[] = [];
  const walk = (value: Json) => {
    if (!isContainer(value)) return;
    if (Array.isArray(value)) {
      value.forEach((child, index) => {
        out.push({ parent: value, key: index });
        walk(child);
      });
    } else {
      for (const [key, child] of Object.entries(value)) {
        out.push({ parent: value, key });
        walk(child);
      }
    }
  };
  walk(root);
  return out;
}

/** Every object or array in the tree, root included. */
export function containers(root: Json): Container[] {
  const out: Container[] = [];
  const walk = (value: Json) => {
    if (!isContainer(value)) return;
    out.push(value);
    for (const child of Array.isArray(value) ? value : Object.values(value)) walk(child);
  };
  walk(root);
  return out;
}

const get = (p: Position): Json => (p.parent as Record<string, Json>)[p.key as string] as Json;
const set = (p: Position, value: Json) => {
  (p.parent as Record<string, Json>)[p.key as string] = value;
};

export type TreeMutation =
  | { t: 'delete'; at: number }
  | { t: 'set'; at: number; value: Json }
  | { t: 'add'; at: number; key: string; value: Json }
  | { t: 'field'; field: string; value: Json }
  | { t: 'metaField'; field: string; value: Json }
  | { t: 'nest'; at: number; depth: number; asObject: boolean };

/** Applies tree mutations to a deep copy of `root`; returns the mutated tree. */
export function mutateTree(root: Json, mutations: TreeMutation[]): Json {
  let tree = structuredClone(root);
  for (const m of mutations) {
    switch (m.t) {
      case 'delete': {
        const all = positions(tree);
        if (all.length === 0) break;
        const p = all[m.at % all.length]!;
        if (Array.isArray(p.parent)) p.parent.splice(p.key as number, 1);
        else delete p.parent[p.key as string];
        break;
      }
      case 'set': {
        const all = positions(tree);
        if (all.length === 0) tree = structuredClone(m.value);
        else set(all[m.at % all.length]!, structuredClone(m.value));
        break;
      }
      case 'add': {
        const all = containers(tree);
        if (all.length === 0) break;
        const c = all[m.at % all.length]!;
        if (Array.isArray(c)) c.push(structuredClone(m.value));
        else c[m.key] = structuredClone(m.value);
        break;
      }
      case 'field': {
        if (isContainer(tree) && !Array.isArray(tree)) tree[m.field] = structuredClone(m.value);
        break;
      }
      case 'metaField': {
        if (isContainer(tree) && !Array.isArray(tree)) {
          const meta = tree.requestMetadata;
          if (isContainer(meta as Json) && !Array.isArray(meta)) (meta as Record<string, Json>)[m.field] = structuredClone(m.value);
        }
        break;
      }
      case 'nest': {
        const all = positions(tree);
        const wrap = (value: Json): Json => {
          let out = value;
          for (let i = 0; i < m.depth; i++) out = m.asObject ? { a: out } : [out];
          return out;
        };
        if (all.length === 0) tree = wrap(tree);
        else {
          const p = all[m.at % all.length]!;
          set(p, wrap(get(p)));
        }
        break;
      }
    }
  }
  return tree;
}

export type TextMutation =
  | { t: 'none' }
  | { t: 'dupKey'; key: string; value: Json; first: boolean }
  | { t: 'truncate'; at: number }
  | { t: 'bom' }
  | { t: 'garbage'; bytes: Uint8Array }
  | { t: 'empty' }
  | { t: 'append'; junk: string }
  | { t: 'invalidUtf8'; at: number; byte: number }
  | { t: 'pretty' }
  | { t: 'deepWrap'; depth: number }
  | { t: 'utf16' };

/** Serializes `tree` and applies a text-level mutation. */
export function serialize(tree: Json, m: TextMutation): Buffer {
  const text = JSON.stringify(tree);
  const bytes = Buffer.from(text, 'utf8');
  switch (m.t) {
    case 'none':
      return bytes;
    case 'dupKey': {
      if (!text.startsWith('{')) return bytes;
      const member = `${JSON.stringify(m.key)}:${JSON.stringify(m.value)}`;
      if (text === '{}') return Buffer.from(`{${member}}`);
      return Buffer.from(m.first ? `{${member},${text.slice(1)}` : `${text.slice(0, -1)},${member}}`, 'utf8');
    }
    case 'truncate':
      return bytes.subarray(0, bytes.length === 0 ? 0 : m.at % bytes.length);
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 'garbage':
      return Buffer.from(m.bytes);
    case 'empty':
      return Buffer.alloc(0);
    case 'append':
      return Buffer.concat([bytes, Buffer.from(m.junk, 'utf8')]);
    case 'invalidUtf8': {
      const at = bytes.length === 0 ? 0 : m.at % bytes.length;
      return Buffer.concat([bytes.subarray(0, at), Buffer.from([0x80 | (m.byte & 0x7f)]), bytes.subarray(at)]);
    }
    case 'pretty':
      return Buffer.from(JSON.stringify(tree, null, '\t') + '\r\n', 'utf8');
    case 'deepWrap':
      return Buffer.concat([Buffer.from('['.repeat(m.depth)), bytes, Buffer.from(']'.repeat(m.depth))]);
    case 'utf16':
      return Buffer.from(text, 'utf16le');
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export type Base64Variant =
  'std' | 'urlsafe' | 'unpadded' | 'whitespace' | 'badchar' | 'noncanonical' | 'extrapad' | 'midpad' | 'latin1' | 'hex';

/** Encodes bytes as standard Base64, or as one of the almost-Base64 forms a strict decoder must reject. */
export function encodeBase64(bytes: Uint8Array, variant: Base64Variant, at = 0): string {
  const std = Buffer.from(bytes).toString('base64');
  const pos = std.length === 0 ? 0 : at % std.length;
  switch (variant) {
    case 'std':
      return std;
    case 'urlsafe':
      return std.replace(/\+/g, '-').replace(/\//g, '_');
    case 'unpadded':
      return std.replace(/=+$/, '');
    case 'whitespace':
      return `${std.slice(0, pos)}\n${std.slice(pos)}`;
    case 'badchar':
      return `${std.slice(0, pos)}!${std.slice(pos)}`;
    case 'noncanonical': {
      const pad = std.endsWith('==') ? 2 : std.endsWith('=') ? 1 : 0;
      if (pad === 0) return std;
      const i = std.length - pad - 1;
      const value = ALPHABET.indexOf(std[i]!);
      return `${std.slice(0, i)}${ALPHABET[value | 1]}${std.slice(i + 1)}`;
    }
    case 'extrapad':
      return `${std}=`;
    case 'midpad':
      return `${std.slice(0, pos)}=${std.slice(pos)}`;
    case 'latin1':
      return Buffer.from(bytes).toString('latin1');
    case 'hex':
      return Buffer.from(bytes).toString('hex');
  }
}

/** Flips the given bit indices (mod the bit length) of a copy of `bytes`. */
export function flipBits(bytes: Buffer, bits: number[]): Buffer {
  const out = Buffer.from(bytes);
  if (out.length === 0) return out;
  for (const bit of bits) {
    const index = bit % (out.length * 8);
    out.writeUInt8(out.readUInt8(index >> 3) ^ (1 << (index & 7)), index >> 3);
  }
  return out;
}
