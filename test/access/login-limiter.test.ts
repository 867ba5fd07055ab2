/**
 * The failed-login limiter shared in the database: parallel guesses against two nodes (two access services,
 * each on its own connection to one database) are all counted, on SQLite and on a scratch PostgreSQL database.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BOOTSTRAP_ACTOR } from '../../src/access/actor.js';
import { createAccessService } from '../../src/access/create-service.js';
import { AccessDenied } from '../../src/access/errors.js';
import type { AccessService } from '../../src/access/service.js';
import { createAccessStore } from '../../src/access/sql-access-store.js';
import { createLoginAttemptStore } from '../../src/access/sql-login-attempt-store.js';
import { ManualClock } from '../../src/core/clock.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { dialectTargets } from '../helpers/dialects.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const PW = 'the right password, long enough';
const WINDOW_MS = 60_000;
const MAX = 5;

for (const target of dialectTargets()) {
  describe(`failed-login limiter shared by two nodes on ${target.name}`, () => {
    const connections: DatabaseConnection[] = [];
    const clock = new ManualClock(Date.UTC(2026, 11, 3));
    let nodes: AccessService[];

    before(async () => {
      await target.setUp();
      connections.push(await target.connect(), await target.connect());
      nodes = connections.map((connection) =>
        createAccessService({
          store: createAccessStore(connection),
          loginAttempts: createLoginAttemptStore(connection),
          clock,
          newId: randomUUID,
          scryptParams: FAST,
        }),
      );
      await nodes[0]?.addBootstrapToken('kh_bootstrap-for-the-limiter-test');
    });
    after(async () => {
      for (const connection of connections) await connection.close();
      await target.tearDown();
    });

    const node = (i: number): AccessService => {
      const found = nodes[i % nodes.length];
      if (!found) throw new Error('no node');
      return found;
    };

    /** The HTTP status a login answers with: 201 (a token), or the AccessDenied status. */
    async function loginStatus(service: AccessService, user: string, password: string): Promise<number> {
      try {
        await service.login(user, password);
        return 201;
      } catch (error) {
        if (error instanceof AccessDenied) return error.status;
        throw error;
      }
    }

    it('the store counts parallel attempts from both connections atomically: every count from 1 to N exactly once', async () => {
      const stores = connections.map(createLoginAttemptStore);
      const now = clock.now();
      const counts = await Promise.all(
        Array.from({ length: 60 }, (_, i) => stores[i % 2]?.countAttempt('store-user', now, WINDOW_MS) ?? Promise.reject(new Error())),
      );
      assert.deepEqual(
        counts.map((c) => c.attempts).sort((a, b) => a - b),
        Array.from({ length: 60 }, (_, i) => i + 1),
      );
      assert.ok(counts.every((c) => c.windowStart === now));
      // The window over: the next attempt opens a new one.
      const later = await stores[1]?.countAttempt('store-user', now + WINDOW_MS, WINDOW_MS);
      assert.deepEqual(later, { attempts: 1, windowStart: now + WINDOW_MS });
      await stores[0]?.clear('store-user');
      assert.deepEqual(await stores[0]?.countAttempt('store-user', now + WINDOW_MS + 1, WINDOW_MS), {
        attempts: 1,
        windowStart: now + WINDOW_MS + 1,
      });
      // Pruning deletes windows begun at or before the time given, and only those.
      await stores[0]?.countAttempt('other-user', now + 2 * WINDOW_MS, WINDOW_MS);
      assert.equal(await stores[1]?.prune(now + WINDOW_MS + 1), 1);
      assert.equal((await stores[1]?.countAttempt('other-user', now + 2 * WINDOW_MS, WINDOW_MS))?.attempts, 2);
    });

    it(`40 parallel wrong guesses spread over both nodes: exactly ${MAX} are checked (401), the rest refused (429); the right password waits too`, async () => {
      await node(0).createUser({ name: 'mallory-target', password: PW }, BOOTSTRAP_ACTOR);
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => loginStatus(node(i), 'mallory-target', `wrong guess number ${i}`)),
      );
      assert.equal(statuses.filter((s) => s === 401).length, MAX, `statuses: ${statuses.join(',')}`);
      assert.equal(statuses.filter((s) => s === 429).length, 40 - MAX);
      // Locked on both nodes, even with the right password, until the window ends.
      assert.equal(await loginStatus(node(0), 'mallory-target', PW), 429);
      assert.equal(await loginStatus(node(1), 'mallory-target', PW), 429);
      await assert.rejects(
        node(1).login('mallory-target', PW),
        (e: unknown) => e instanceof AccessDenied && /try again in 60 s/.test(e.message),
      );
      clock.advance(WINDOW_MS);
      assert.equal(await loginStatus(node(1), 'mallory-target', PW), 201);
    });

    it('a successful login on one node clears the count the other node sees', async () => {
      await node(0).createUser({ name: 'forgetful', password: PW }, BOOTSTRAP_ACTOR);
      for (let i = 0; i < MAX - 1; i++) assert.equal(await loginStatus(node(i), 'forgetful', 'not it, sorry!!'), 401);
      assert.equal(await loginStatus(node(0), 'forgetful', PW), 201);
      // Cleared: another MAX wrong guesses are checked before the limit bites again.
      for (let i = 0; i < MAX; i++) assert.equal(await loginStatus(node(1), 'forgetful', 'still not it!!'), 401);
      assert.equal(await loginStatus(node(0), 'forgetful', 'and not this!!'), 429);
    });

    it('unknown user names are limited the same way (no hint about which names exist)', async () => {
      const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => loginStatus(node(i), 'no-such-user', 'whatever it is')));
      assert.deepEqual([statuses.filter((s) => s === 401).length, statuses.filter((s) => s === 429).length], [MAX, 12 - MAX]);
    });
  });
}
