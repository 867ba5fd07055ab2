import type { Actor, ActorWithRoles } from './actor.js';
import type { RoleName } from './roles.js';

/**
 * The access service (docs/access.md): users with passwords and roles, API tokens, login, and turning a
 * bearer token into the Actor a request runs as. One implementation, createAccessService (create-service.ts).
 * Refusals are ManagementErrors (one line); login refusals are AccessDenied (401/429).
 */
export interface AccessService extends UserAdministration, TokenAdministration, Authentication {}

/** A user as the admin API shows it (never the password hash). */
export interface UserView {
  name: string;
  roles: RoleName[];
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A token as the admin API shows it (never the token or its hash). */
export interface TokenView {
  id: string;
  name: string;
  /** The user whose token it is; absent for a service token. */
  user?: string;
  /** The role of a service token. */
  role?: RoleName;
  createdBy: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
  status: 'active' | 'expired' | 'revoked';
}

export interface NewUser {
  name: string;
  password: string;
}

/** A token request: for a user (acts with the user's current roles) or for a role (a service token). */
export interface NewToken {
  name: string;
  user?: string;
  role?: string;
  /** Lifetime in hours; 90 days when not given, a year at most. */
  ttlHours?: number;
}

/** A token request that passed checkToken. */
export interface CheckedToken {
  ttlMs: number;
  userId?: string;
  role?: RoleName;
}

/** A newly issued token: the token itself is in this answer only. */
export interface IssuedToken {
  token: string;
  view: TokenView;
}

/**
 * The Actor a bearer token stands for, with the roles its permissions come from (GET /api/v1/auth/whoami);
 * `tokenId` names the API token (absent for the bootstrap token).
 */
export type AuthenticatedActor = ActorWithRoles & { tokenId?: string };

/** Users, their passwords and roles. Every change is audited with the acting `actor`. */
export interface UserAdministration {
  createUser(input: NewUser, actor: Actor): Promise<UserView>;
  listUsers(): Promise<UserView[]>;
  showUser(name: string): Promise<UserView>;
  /** Checks that a user exists and the roles are known (before an approval request is stored). */
  checkRoles(name: string, roles: readonly string[]): Promise<RoleName[]>;
  /** Replaces a user's roles; refuses to leave nobody able to administer the node. */
  setRoles(name: string, roles: readonly string[], actor: Actor): Promise<UserView>;
  /** A disabled user's tokens stop working at once; nobody can disable themselves or the last administrator. */
  setDisabled(name: string, disabled: boolean, actor: Actor): Promise<UserView>;
  /** Checks a password change before it is stored or sent for approval. */
  checkPassword(name: string, password: string): Promise<void>;
  setPassword(name: string, password: string, actor: Actor): Promise<UserView>;
  /** The roles a user holds now ([] when unknown or disabled). A plain function: approvals are built with it. */
  readonly rolesOf: (userId: string) => Promise<RoleName[]>;
  /** Whether an active user of that name exists. A plain function: approvals are built with it. */
  readonly userExists: (name: string) => Promise<boolean>;
}

/** API tokens of users and roles. Tokens are stored as SHA-256 only and always expire. */
export interface TokenAdministration {
  /** Checks a token request before it runs or is sent for approval. */
  checkToken(input: NewToken): Promise<CheckedToken>;
  /** Issues a token; shown once, in the answer. */
  createToken(input: NewToken, actor: Actor): Promise<IssuedToken>;
  /** Every token (of one user, when named). */
  listTokens(user?: string): Promise<TokenView[]>;
  revokeToken(id: string, actor: Actor): Promise<TokenView>;
}

/** Login and bearer tokens, including the bootstrap token from `init`. */
export interface Authentication {
  /** Checks a password and issues a login token (12 hours). Failures are rate-limited per user name. */
  login(name: string, password: string): Promise<IssuedToken>;
  /** The Actor a bearer token stands for, or undefined (unknown, expired, revoked, disabled owner). */
  authenticate(presented: string): Promise<AuthenticatedActor | undefined>;
  /** Stores the hash of the bootstrap token `init` generated (it acts as an administrator until retired). */
  addBootstrapToken(token: string): Promise<void>;
  /** Deletes the bootstrap token once an active user holds the administrator role. */
  retireBootstrap(actor: Actor): Promise<{ retired: number }>;
}
