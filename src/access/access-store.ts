import type { RoleName } from './roles.js';

/** A person who logs in with a password and acts with the permissions of their roles. */
export interface User {
  id: string;
  name: string;
  /** `scrypt$N$r$p$salt$hash` (passwords.ts). */
  passwordHash: string;
  roles: RoleName[];
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** An API token: a user's (acting with the user's current roles) or a service token (one role). */
export interface ApiToken {
  id: string;
  name: string;
  /** SHA-256 of the token (tokens.ts); the token itself is shown once and never stored. */
  tokenHash: Buffer;
  /** Exactly one of userId and role is set. */
  userId?: string;
  role?: RoleName;
  /** The name of whoever created it. */
  createdBy: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
  revokedAt?: number;
}

/** The token `init` generates; it acts as an administrator until retired. */
export interface BootstrapToken {
  id: string;
  name: string;
  /** SHA-256 of the token. */
  tokenHash: Buffer;
  createdAt: number;
}

export interface UserChanges {
  roles?: RoleName[];
  disabled?: boolean;
  passwordHash?: string;
}

/**
 * Users, API tokens and the bootstrap token in the node's database (SQLite or PostgreSQL); one
 * implementation, sql-access-store.ts. Every method is one statement. A uniqueness violation (a user
 * name, a token hash, a bootstrap token id) throws StoreConflictError.
 */
export interface AccessStore {
  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  getUserByName(name: string): Promise<User | undefined>;
  /** Every user, by name. */
  listUsers(): Promise<User[]>;
  /** Changes what is given and stamps `updatedAt`. */
  updateUser(id: string, changes: UserChanges, at: number): Promise<void>;
  /** Active (not disabled) users holding a role. */
  countActiveUsersWithRole(role: RoleName): Promise<number>;

  createToken(token: ApiToken): Promise<void>;
  getToken(id: string): Promise<ApiToken | undefined>;
  getTokenByHash(hash: Buffer): Promise<ApiToken | undefined>;
  /** Every token (of one user, when given), oldest first. */
  listTokens(userId?: string): Promise<ApiToken[]>;
  /** Revokes a token; false when it was already revoked (or does not exist). */
  revokeToken(id: string, at: number): Promise<boolean>;
  /** Records the token's last use. */
  touchToken(id: string, at: number): Promise<void>;

  createBootstrapToken(token: BootstrapToken): Promise<void>;
  /** Oldest first; empty once retired. */
  listBootstrapTokens(): Promise<BootstrapToken[]>;
  /** Deletes the bootstrap token(s); returns how many there were. */
  deleteBootstrapTokens(): Promise<number>;
}
