import { discardAdminEvents, type AdminEventSink } from '../audit/admin-events.js';
import type { Clock } from '../core/clock.js';
import type { AccessStore } from './access-store.js';
import type { LoginAttemptStore } from './login-attempt-store.js';
import { createLoginLimiter } from './login-limiter.js';
import { createTokenAdministration, createTokenIssuer } from './api-tokens.js';
import { createAuthentication } from './authentication.js';
import type { AccessContext } from './context.js';
import type { ScryptParams } from './passwords.js';
import type { AccessService } from './service.js';
import { createUserAdministration } from './users.js';

export interface AccessServiceDeps {
  /** Users, tokens and the bootstrap token (createAccessStore over the node's database). */
  store: AccessStore;
  /** Login attempts per user name, in the database so the failed-login limit holds across a fleet. */
  loginAttempts: LoginAttemptStore;
  clock: Clock;
  newId: () => string;
  events?: AdminEventSink;
  /** Password hashing cost (tests lower it); defaults to SCRYPT_PARAMS. */
  scryptParams?: ScryptParams;
}

/** The access service: its three parts (users, tokens, authentication) over one store. */
export function createAccessService({
  store,
  loginAttempts,
  clock,
  newId,
  events = discardAdminEvents,
  scryptParams,
}: AccessServiceDeps): AccessService {
  const context: AccessContext = { store, clock, newId, events };
  const issuer = createTokenIssuer(context);
  return {
    ...createUserAdministration(context, scryptParams),
    ...createTokenAdministration(context, issuer),
    ...createAuthentication(context, issuer, createLoginLimiter({ store: loginAttempts, clock })),
  };
}
