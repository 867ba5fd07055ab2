import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BOOTSTRAP_ACTOR } from '../../src/access/actor.js';
import { createAccessService } from '../../src/access/create-service.js';
import { AccessDenied } from '../../src/access/errors.js';
import type { AccessService } from '../../src/access/service.js';
import { createAccessStore } from '../../src/access/sql-access-store.js';
import { createLoginAttemptStore } from '../../src/access/sql-login-attempt-store.js';
import { generateApiToken, hashToken } from '../../src/access/tokens.js';
import type { AdminEvent } from '../../src/audit/admin-events.js';
import { ManualClock } from '../../src/core/clock.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { StoreConflictError } from '../../src/storage/store-errors.js';
import { dialectTargets } from '../helpers/dialects.js';
import { recordingEvents, refusedWith as rejectsWith } from '../helpers/recorded.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const HOUR = 3_600_000;
const PW = 'a long enough password';

for (const target of dialectTargets()) {
  describe(`access service on ${target.name}`, () => {
    let store: DatabaseConnection;
    let clock: ManualClock;
    let access: AccessService;
    let events: AdminEvent[];
    let bootstrap: string;

    before(async () => {
      await target.setUp();
      store = await target.connect();
      clock = new ManualClock(Date.UTC(2026, 10, 28));
      const recorder = recordingEvents();
      events = recorder.events;
      access = createAccessService({
        store: createAccessStore(store),
        loginAttempts: createLoginAttemptStore(store),
        clock,
        newId: randomUUID,
        events: recorder,
        scryptParams: FAST,
      });
      bootstrap = generateApiToken();
      await access.addBootstrapToken(bootstrap);
    });
    after(async () => {
      await store.close();
      await target.tearDown();
    });

    it('the bootstrap token from init is an administrator until retired', async () => {
      const actor = await access.authenticate(bootstrap);
      assert.equal(actor?.id, 'bootstrap');
      assert.ok(actor.permissions.has('users:manage') && actor.permissions.has('keys:destroy'));
      assert.equal(await access.authenticate(generateApiToken()), undefined);
    });

    it('the bootstrap tokens are their own table: listed oldest first, a second with the same hash refused', async () => {
      const accessStore = createAccessStore(store);
      const [first, ...others] = await accessStore.listBootstrapTokens();
      assert.deepEqual(others, []);
      assert.deepEqual({ name: first?.name, hash: first?.tokenHash }, { name: 'bootstrap', hash: hashToken(bootstrap) });
      await assert.rejects(
        accessStore.createBootstrapToken({ id: randomUUID(), name: 'again', tokenHash: hashToken(bootstrap), createdAt: clock.now() }),
        StoreConflictError,
      );
      assert.equal((await accessStore.listBootstrapTokens()).length, 1);
    });

    it("a user token acts with the user's current roles; a service token with its role", async () => {
      await access.createUser({ name: 'olga', password: PW }, BOOTSTRAP_ACTOR);
      await access.setRoles('olga', ['key-officer'], BOOTSTRAP_ACTOR);
      const { token, view } = await access.createToken({ name: 'olga laptop', user: 'olga', ttlHours: 24 }, BOOTSTRAP_ACTOR);
      assert.match(token, /^kh_[A-Za-z0-9_-]{43}$/);
      assert.equal(view.user, 'olga');
      const actor = await access.authenticate(token);
      assert.equal(actor?.kind, 'user');
      assert.equal(actor.name, 'olga');
      assert.ok(actor.permissions.has('keys:manage') && !actor.permissions.has('audit:read'));
      await access.setRoles('olga', ['auditor', 'approver'], BOOTSTRAP_ACTOR);
      const after = await access.authenticate(token);
      assert.deepEqual([...(after?.permissions ?? [])].sort(), ['approvals:decide', 'approvals:read', 'audit:read', 'metrics:read']);

      const service = await access.createToken({ name: 'siem', role: 'auditor' }, BOOTSTRAP_ACTOR);
      const serviceActor = await access.authenticate(service.token);
      assert.equal(serviceActor?.kind, 'token');
      assert.deepEqual([...serviceActor.permissions], ['audit:read', 'metrics:read']);
    });

    it('tokens are stored as SHA-256 only, never in the clear', async () => {
      const { token, view } = await access.createToken({ name: 'stored', role: 'auditor' }, BOOTSTRAP_ACTOR);
      const rows = await store.tables<{ api_tokens: { id: string; token_hash: Buffer } }>().selectFrom('api_tokens').selectAll().execute();
      const row = rows.find((r) => r.id === view.id);
      assert.deepEqual(row && Buffer.from(row.token_hash), hashToken(token));
      assert.ok(!JSON.stringify(rows).includes(token));
    });

    it('a token expires (ManualClock) and then authenticates nothing', async () => {
      const { token, view } = await access.createToken({ name: 'short', role: 'auditor', ttlHours: 1 }, BOOTSTRAP_ACTOR);
      assert.ok(await access.authenticate(token));
      clock.advance(HOUR - 1);
      assert.ok(await access.authenticate(token));
      clock.advance(1);
      assert.equal(await access.authenticate(token), undefined);
      assert.equal((await access.listTokens()).find((t) => t.id === view.id)?.status, 'expired');
    });

    it('a revoked token stops at once; revoking twice is refused', async () => {
      const { token, view } = await access.createToken({ name: 'revoked', role: 'auditor' }, BOOTSTRAP_ACTOR);
      assert.ok(await access.authenticate(token));
      const revoked = await access.revokeToken(view.id, BOOTSTRAP_ACTOR);
      assert.equal(revoked.status, 'revoked');
      assert.equal(await access.authenticate(token), undefined);
      await assert.rejects(access.revokeToken(view.id, BOOTSTRAP_ACTOR), rejectsWith('conflict', /already revoked/));
      await assert.rejects(access.revokeToken('nope', BOOTSTRAP_ACTOR), rejectsWith('not-found', /no token/));
      assert.ok(events.some((e) => e.action === 'token.revoke' && e.target?.token === view.id));
    });

    it("a disabled user's tokens stop working; enabling restores them", async () => {
      await access.createUser({ name: 'dora', password: PW }, BOOTSTRAP_ACTOR);
      const { token } = await access.createToken({ name: 'd', user: 'dora' }, BOOTSTRAP_ACTOR);
      assert.ok(await access.authenticate(token));
      await access.setDisabled('dora', true, BOOTSTRAP_ACTOR);
      assert.equal(await access.authenticate(token), undefined);
      await access.setDisabled('dora', false, BOOTSTRAP_ACTOR);
      assert.ok(await access.authenticate(token));
    });

    it('records last use', async () => {
      const { token, view } = await access.createToken({ name: 'used', role: 'auditor' }, BOOTSTRAP_ACTOR);
      assert.equal((await access.listTokens()).find((t) => t.id === view.id)?.lastUsedAt, undefined);
      await access.authenticate(token);
      assert.equal((await access.listTokens()).find((t) => t.id === view.id)?.lastUsedAt, new Date(clock.now()).toISOString());
    });

    it('login checks the password, issues an expiring token, and slows guessing per user', async () => {
      await access.createUser({ name: 'lena', password: PW }, BOOTSTRAP_ACTOR);
      const { token, view } = await access.login('lena', PW);
      assert.equal(view.user, 'lena');
      assert.equal(Date.parse(view.expiresAt ?? '') - clock.now(), 12 * HOUR);
      assert.equal((await access.authenticate(token))?.name, 'lena');
      for (let i = 0; i < 5; i++) {
        await assert.rejects(access.login('lena', 'wrong password!!'), (e: unknown) => e instanceof AccessDenied && e.status === 401);
      }
      await assert.rejects(
        access.login('lena', PW),
        (e: unknown) => e instanceof AccessDenied && e.status === 429 && /too many failed logins/.test(e.message),
      );
      clock.advance(60_001);
      assert.ok(await access.login('lena', PW));
      await assert.rejects(access.login('nobody', PW), (e: unknown) => e instanceof AccessDenied && e.status === 401);
      assert.ok(events.some((e) => e.action === 'auth.login' && e.outcome === 'failure' && e.target?.user === 'lena'));
      assert.ok(!JSON.stringify(events).includes(PW));
    });

    it('bad input is refused in one line and changes nothing', async () => {
      const before = JSON.stringify(await access.listUsers());
      await assert.rejects(access.createUser({ name: 'bad name!', password: PW }, BOOTSTRAP_ACTOR), rejectsWith('invalid', /user name/));
      await assert.rejects(
        access.createUser({ name: 'shorty', password: 'short' }, BOOTSTRAP_ACTOR),
        rejectsWith('invalid', /at least 12/),
      );
      await assert.rejects(access.createUser({ name: 'olga', password: PW }, BOOTSTRAP_ACTOR), rejectsWith('conflict', /already exists/));
      await assert.rejects(access.setRoles('olga', ['wizard'], BOOTSTRAP_ACTOR), rejectsWith('invalid', /unknown role "wizard"/));
      await assert.rejects(access.setRoles('ghost', ['auditor'], BOOTSTRAP_ACTOR), rejectsWith('not-found', /no user named "ghost"/));
      await assert.rejects(
        access.createToken({ name: 'x', user: 'olga', role: 'auditor' }, BOOTSTRAP_ACTOR),
        rejectsWith('invalid', /exactly one/),
      );
      await assert.rejects(
        access.createToken({ name: 'x', role: 'auditor', ttlHours: 0 }, BOOTSTRAP_ACTOR),
        rejectsWith('invalid', /lifetime/),
      );
      await assert.rejects(
        access.createToken({ name: 'x', role: 'auditor', ttlHours: 9000 }, BOOTSTRAP_ACTOR),
        rejectsWith('invalid', /lifetime/),
      );
      assert.equal(JSON.stringify(await access.listUsers()), before);
    });

    it('the bootstrap token can be retired only once an active administrator exists; the last administrator is kept', async () => {
      await assert.rejects(access.retireBootstrap(BOOTSTRAP_ACTOR), rejectsWith('conflict', /no active user holds the administrator role/));
      assert.ok(await access.authenticate(bootstrap));
      await access.createUser({ name: 'ada', password: PW }, BOOTSTRAP_ACTOR);
      await access.setRoles('ada', ['administrator'], BOOTSTRAP_ACTOR);
      await access.setDisabled('ada', true, BOOTSTRAP_ACTOR);
      await assert.rejects(access.retireBootstrap(BOOTSTRAP_ACTOR), rejectsWith('conflict', /no active user/));
      await access.setDisabled('ada', false, BOOTSTRAP_ACTOR);
      assert.deepEqual(await access.retireBootstrap(BOOTSTRAP_ACTOR), { retired: 1 });
      assert.equal(await access.authenticate(bootstrap), undefined);
      await assert.rejects(access.retireBootstrap(BOOTSTRAP_ACTOR), rejectsWith('conflict', /already retired/));
      // Now ada is the only way in: she cannot lose the role or be disabled.
      await assert.rejects(access.setRoles('ada', ['auditor'], BOOTSTRAP_ACTOR), rejectsWith('conflict', /last active administrator/));
      await assert.rejects(access.setDisabled('ada', true, BOOTSTRAP_ACTOR), rejectsWith('conflict', /last active administrator/));
      assert.deepEqual((await access.showUser('ada')).roles, ['administrator']);
    });
  });
}
