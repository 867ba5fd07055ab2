import { conflict, invalid, notFound } from '../core/errors.js';
import { translateStoreError } from '../storage/translate-error.js';
import { actorRef, type Actor } from './actor.js';
import type { User } from './access-store.js';
import { hasBootstrapToken, isoTime, requireUser, type AccessContext } from './context.js';
import { hashPassword, passwordProblem, SCRYPT_PARAMS, type ScryptParams } from './passwords.js';
import { parseRoles, type RoleName } from './roles.js';
import type { UserAdministration, UserView } from './service.js';

const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

const userView = (u: User): UserView => ({
  name: u.name,
  roles: u.roles,
  disabled: u.disabled,
  createdAt: isoTime(u.createdAt),
  updatedAt: isoTime(u.updatedAt),
});

function checkPasswordRules(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw invalid(problem);
}

/** Users, their passwords and roles (the UserAdministration part of the access service). */
export function createUserAdministration(
  { store, clock, newId, events }: AccessContext,
  scryptParams: ScryptParams = SCRYPT_PARAMS,
): UserAdministration {
  /** Refuses a change that would leave nobody able to administer the node. */
  async function keepAnAdministrator(user: User, after: { roles: RoleName[]; disabled: boolean }): Promise<void> {
    const wasAdmin = !user.disabled && user.roles.includes('administrator');
    const isAdmin = !after.disabled && after.roles.includes('administrator');
    if (!wasAdmin || isAdmin) return;
    if ((await store.countActiveUsersWithRole('administrator')) <= 1 && !(await hasBootstrapToken(store))) {
      throw conflict(
        `"${user.name}" is the last active administrator and the bootstrap token is retired; make another administrator first`,
      );
    }
  }

  /** The user as stored after a change. */
  async function reread(user: User): Promise<UserView> {
    const now = await store.getUser(user.id);
    if (!now) throw notFound(`no user named "${user.name}"`);
    return userView(now);
  }

  return {
    async createUser(input, actor) {
      if (!USER_NAME.test(input.name)) throw invalid('user name must be 1-64 characters of A-Z a-z 0-9 . _ @ -');
      checkPasswordRules(input.password);
      if (await store.getUserByName(input.name)) throw conflict(`user "${input.name}" already exists`);
      const now = clock.now();
      const user: User = {
        id: newId(),
        name: input.name,
        passwordHash: await hashPassword(input.password, scryptParams),
        roles: [],
        disabled: false,
        createdAt: now,
        updatedAt: now,
      };
      await translateStoreError(() => store.createUser(user));
      await events.record({ actor: actorRef(actor), action: 'user.create', target: { user: user.name }, outcome: 'success' });
      return userView(user);
    },

    async listUsers() {
      return (await store.listUsers()).map(userView);
    },

    async showUser(name) {
      return userView(await requireUser(store, name));
    },

    async checkRoles(name, roles) {
      await requireUser(store, name);
      return parseRoles(roles);
    },

    async setRoles(name, roles, actor: Actor) {
      const user = await requireUser(store, name);
      const parsed = parseRoles(roles);
      await keepAnAdministrator(user, { roles: parsed, disabled: user.disabled });
      await store.updateUser(user.id, { roles: parsed }, clock.now());
      await events.record({
        actor: actorRef(actor),
        action: 'user.set-roles',
        target: { user: name, roles: parsed.join(',') },
        outcome: 'success',
      });
      return reread(user);
    },

    async setDisabled(name, disabled, actor) {
      const user = await requireUser(store, name);
      if (disabled && actor.kind === 'user' && actor.id === user.id) throw invalid('you cannot disable yourself');
      await keepAnAdministrator(user, { roles: user.roles, disabled });
      await store.updateUser(user.id, { disabled }, clock.now());
      await events.record({
        actor: actorRef(actor),
        action: disabled ? 'user.disable' : 'user.enable',
        target: { user: name },
        outcome: 'success',
      });
      return reread(user);
    },

    async checkPassword(name, password) {
      await requireUser(store, name);
      checkPasswordRules(password);
    },

    async setPassword(name, password, actor) {
      const user = await requireUser(store, name);
      checkPasswordRules(password);
      await store.updateUser(user.id, { passwordHash: await hashPassword(password, scryptParams) }, clock.now());
      await events.record({ actor: actorRef(actor), action: 'user.passwd', target: { user: name }, outcome: 'success' });
      return reread(user);
    },

    rolesOf: async (userId) => {
      const user = await store.getUser(userId);
      return user && !user.disabled ? user.roles : [];
    },

    userExists: async (name) => {
      const user = await store.getUserByName(name);
      return user !== undefined && !user.disabled;
    },
  };
}
