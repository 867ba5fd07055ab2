import { invalid } from '../core/errors.js';
import type { KeyUsage } from '../domain/types.js';

/**
 * What operators give for keys, checked before anything is written: the key id, its usage, tags,
 * description and block reason. Every refusal is one `invalid` line naming the limit.
 */

/**
 *= docs/requirements.md#key-ids
 *# 17. [MUST] `externalKeyId` values of 1 to 128 characters from `A-Z a-z 0-9 . - _` work, the longest included.
 */
const EXTERNAL_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function validateExternalKeyId(id: string): void {
  if (!EXTERNAL_KEY_ID.test(id)) throw invalid('key id must be 1-128 characters of A-Z a-z 0-9 . _ -');
  // Ids made only of dots collide with URL dot-segment normalization (docs/requirements.md#key-ids).
  if (/^\.+$/.test(id)) throw invalid('key id must not consist only of dots');
}

/** Parses `ENCRYPT,DECRYPT`, `ENCRYPT`, `DECRYPT` or `none` (case-insensitive). */
export function parseUsage(text: string): KeyUsage[] {
  const trimmed = text.trim().toUpperCase();
  if (trimmed === 'NONE' || trimmed === '') return [];
  const parts = [...new Set(trimmed.split(',').map((p) => p.trim()))];
  for (const part of parts) {
    if (part !== 'ENCRYPT' && part !== 'DECRYPT') throw invalid(`usage must be ENCRYPT,DECRYPT, ENCRYPT, DECRYPT or none (got "${text}")`);
  }
  return (['ENCRYPT', 'DECRYPT'] as const).filter((u) => parts.includes(u));
}

/** When periods operators give in days end (deletion dates, rotations due): `days` days after `ms`. */
export const daysAfter = (ms: number, days: number): number => ms + days * 24 * 60 * 60 * 1000;

/** Limits on what operators attach to keys (tags, description, block reason). */
export const MAX_TAGS = 50;
const TAG_KEY = /^[A-Za-z0-9 _.:/+@-]{1,128}$/;
const MAX_TAG_VALUE = 256;
const MAX_DESCRIPTION = 256;
const MAX_REASON = 200;
// Printable text without control characters: these values reach logs and one-line CLI output.
const PRINTABLE = /^[^\p{Cc}]*$/u;

export function validateTags(tags: Record<string, string>): void {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw invalid(`a key has at most ${MAX_TAGS} tags (got ${entries.length})`);
  for (const [name, value] of entries) {
    if (!TAG_KEY.test(name))
      throw invalid(`tag name ${JSON.stringify(name.slice(0, 40))} must be 1-128 characters of A-Z a-z 0-9 space _ . : / + @ -`);
    if (typeof value !== 'string' || value.length > MAX_TAG_VALUE || !PRINTABLE.test(value)) {
      throw invalid(`tag ${JSON.stringify(name)} value must be at most ${MAX_TAG_VALUE} printable characters`);
    }
  }
}

export function validateDescription(description: string): void {
  if (description.length > MAX_DESCRIPTION || !PRINTABLE.test(description)) {
    throw invalid(`description must be at most ${MAX_DESCRIPTION} printable characters`);
  }
}

/** A kill-switch reason: required, so whoever finds the switch on knows why. */
export function validateReason(reason: string | undefined): string {
  const trimmed = (reason ?? '').trim();
  if (trimmed === '') throw invalid('give a reason (--reason) for the block');
  if (trimmed.length > MAX_REASON || !PRINTABLE.test(trimmed)) throw invalid(`reason must be at most ${MAX_REASON} printable characters`);
  return trimmed;
}

/** What a new key is given besides its material (create, or an import that makes a new key). */
export function validateNewKey(input: { id: string; description?: string; tags?: Record<string, string> }): void {
  validateExternalKeyId(input.id);
  if (input.description !== undefined) validateDescription(input.description);
  if (input.tags !== undefined) validateTags(input.tags);
}

/** Parses `name=value` pairs as the CLI takes them. */
export function parseTagPairs(pairs: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw invalid(`tag "${pair}" must be name=value`);
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tags;
}
