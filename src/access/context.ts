import type { AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import { notFound } from '../core/errors.js';
import type { AccessStore, User } from './access-store.js';

/** What the parts of the access service share: their store, clock, ids and audit sink. */
export interface AccessContext {
  store: AccessStore;
  clock: Clock;
  newId: () => string;
  events: AdminEventSink;
}

export async function requireUser(store: AccessStore, name: string): Promise<User> {
  const user = await store.getUserByName(name);
  if (!user) throw notFound(`no user named "${name}"`);
  return user;
}

export async function hasBootstrapToken(store: AccessStore): Promise<boolean> {
  return (await store.listBootstrapTokens()).length > 0;
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();
