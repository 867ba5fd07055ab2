import { invalid } from '../core/errors.js';
import type { KeyStatus } from '../domain/types.js';
import type { KeyLookup } from './key-lookup.js';
import type { KeyPosition, KeyStore } from './key-store.js';
import type { KeyView, KeyViews } from './key-views.js';

export const DEFAULT_KEY_PAGE = 50;
export const MAX_KEY_PAGE = 500;
export const MAX_KEY_SEARCH = 256;
export const KEY_STATUSES: readonly KeyStatus[] = ['ENABLED', 'DISABLED', 'BLOCKED', 'PENDING_DELETION', 'DESTROYED'];

/** GET /api/v1/keys's query, as given (`keyhold key list --search S --status X --keystore K --limit N --cursor C`). */
export interface KeyListQuery {
  /** Case-insensitive substring of the external key id, the description or a tag value. */
  search?: string;
  status?: string;
  /** Only the keys of this keystore's group. */
  keystore?: string;
  /** Keys per page: 1-500, 50 when not given. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** One page of keys. */
export interface KeyPage {
  keys: KeyView[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
  /** How many keys match the filters in all; on the first page only (a request without a cursor). */
  total?: number;
}

/** Server-side search and keyset pagination of keys (the web console's keys page, `keyhold key list`). */
export interface KeySearchService {
  readonly search: (query: KeyListQuery) => Promise<KeyPage>;
}

const isKeyStatus = (value: string): value is KeyStatus => KEY_STATUSES.some((status) => status === value);
// As attributes.ts refuses them in descriptions and tags: nothing searched for can contain them.
const PRINTABLE = /^[^\p{Cc}]*$/u;

/** The cursor is the last key's position, opaque to clients (base64url of JSON). */
export function encodeKeyCursor(position: KeyPosition): string {
  return Buffer.from(JSON.stringify([position.groupId, position.externalId]), 'utf8').toString('base64url');
}

export function decodeKeyCursor(cursor: string): KeyPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const fields: unknown[] = decoded;
      const [groupId, externalId] = fields;
      if (typeof groupId === 'string' && typeof externalId === 'string') return { groupId, externalId };
    }
  } catch {
    // refused below
  }
  throw invalid('cursor is not one this API returned');
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_KEY_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_KEY_PAGE)
    throw invalid(`limit must be a whole number from 1 to ${MAX_KEY_PAGE}`);
  return limit;
}

function searchFor(text: string | undefined): string | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.length > MAX_KEY_SEARCH || !PRINTABLE.test(text)) {
    throw invalid(`search must be at most ${MAX_KEY_SEARCH} printable characters`);
  }
  return text.trim().toLowerCase();
}

export function createKeySearchService(deps: { keyStore: KeyStore; lookup: KeyLookup; views: KeyViews }): KeySearchService {
  const { keyStore, lookup, views } = deps;
  return {
    async search(query) {
      const limit = pageSize(query.limit);
      const text = searchFor(query.search);
      if (query.status !== undefined && !isKeyStatus(query.status)) {
        throw invalid(`status must be one of ${KEY_STATUSES.join(', ')} (got "${query.status.slice(0, 40)}")`);
      }
      const after = query.cursor === undefined ? undefined : decodeKeyCursor(query.cursor);
      const groupId = query.keystore === undefined ? undefined : (await lookup.requireKeystore(query.keystore)).groupId;
      const page = await keyStore.searchKeys({ groupId, status: query.status, text, after, limit, count: after === undefined });
      const last = page.keys[page.keys.length - 1];
      return {
        keys: await views.views(page.keys),
        nextCursor: page.more && last ? encodeKeyCursor(last) : null,
        ...(page.total === undefined ? {} : { total: page.total }),
      };
    },
  };
}
