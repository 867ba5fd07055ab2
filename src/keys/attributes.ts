import { invalid } from '../core/errors.js';

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
