/**
 * Typed reading of admin API answers. Routes answer JSON whose shape their source declares (the views in
 * src/<feature>/service.ts and approvals/gate.ts); a test reads the body as that type, and its assertions
 * check the values.
 */
import assert from 'node:assert/strict';
import type { ApprovalView } from '../../src/approvals/gate.js';
import type { JsonResponse } from './https-json.js';

/** Any answer: JsonResponse, or an AdminAnswer already read as some type. */
export interface Answer {
  status: number;
  headers: JsonResponse['headers'];
  text: string;
  json: unknown;
}

/** An answer whose JSON body is read as `T`. */
export interface AdminAnswer<T> {
  status: number;
  headers: JsonResponse['headers'];
  text: string;
  json: T;
}

/** Reads an answer's body as `T` (what the route documents); the test's assertions check it. */
export function answerAs<T>(response: Answer): AdminAnswer<T> {
  return { status: response.status, headers: response.headers, text: response.text, json: response.json as T };
}

/** The body of an answer, read as `T` after checking its status. */
export function bodyOf<T>(response: Answer, status = 200): T {
  assert.equal(response.status, status, response.text);
  return answerAs<T>(response).json;
}

/** The one-line `{ "error": … }` of a refused request. */
export function errorOf(response: Answer): string {
  const body = response.json;
  assert.ok(typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string', response.text);
  return body.error;
}

/** A 202 answer: the operation waits for approvers. */
export interface Pending {
  approval: ApprovalView;
}

/** The approval request a 202 answer stored. */
export function pendingApproval(response: Answer): ApprovalView {
  return bodyOf<Pending>(response, 202).approval;
}

/** A token as `POST /tokens` answers it (the token itself, shown once, beside its view). */
export interface CreatedToken {
  token: string;
  id: string;
}
