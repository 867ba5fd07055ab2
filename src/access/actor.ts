import { PERMISSIONS, type Permission } from './permissions.js';
import type { RoleName } from './roles.js';

/** Who asks for a management action: a user (through one of their tokens) or a stand-alone token. */
export interface Actor {
  kind: 'user' | 'token';
  /** The user's or token's id. */
  id: string;
  /** A name for people: the user name, or the token's name. */
  name: string;
  permissions: ReadonlySet<Permission>;
}

/** An actor as the audit log and approval requests record it: who, without what they may do. */
export interface ActorRef {
  kind: Actor['kind'];
  id: string;
  name: string;
}

export const actorRef = (actor: ActorRef): ActorRef => ({ kind: actor.kind, id: actor.id, name: actor.name });

/** An actor and the roles its permissions come from (a user's roles, or a service token's one role). */
export type ActorWithRoles = Actor & { roles: readonly RoleName[] };

/** The bootstrap token from `init` acts as an administrator until retired. */
export const BOOTSTRAP_ACTOR: ActorWithRoles = {
  kind: 'token',
  id: 'bootstrap',
  name: 'bootstrap',
  permissions: new Set(PERMISSIONS),
  roles: ['administrator'],
};
