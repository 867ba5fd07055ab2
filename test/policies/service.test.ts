// The policy service and its tables, on both dialects: SQLite in a temp dir and the real PostgreSQL
// (test/helpers/postgres.ts; unreachable PostgreSQL fails, never skips).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import type { ManagementError } from '../../src/core/errors.js';
import type { KeyRecord, Keystore } from '../../src/domain/types.js';
import { PolicyRegistry, createPolicyAuthorizer } from '../../src/policies/authorizer.js';
import { createPolicyService } from '../../src/policies/create-service.js';
import type { PolicyService } from '../../src/policies/service.js';
import { createPolicyStore } from '../../src/policies/sql-policy-store.js';
import { createLiveState, type LiveState } from '../../src/registry/live-state.js';
import { createKeystoreStore } from '../../src/keystores/sql-keystore-store.js';
import { createKeyStore } from '../../src/keys/sql-key-store.js';
import type { DatabaseConnection } from '../../src/storage/connection.js';
import { dialectTargets, type DialectTarget } from '../helpers/dialects.js';
import { recordingEvents, refusedWith } from '../helpers/recorded.js';

const T0 = 1_700_000_000_000;
const APP = 'arn:aws:iam::111122223333:role/app';
const OTHER = 'arn:aws:iam::444455556666:role/other';

function suite(dialect: string, target: DialectTarget) {
  describe(`policy service on ${dialect}`, () => {
    let store: DatabaseConnection;
    let live: LiveState;
    let registry: PolicyRegistry;
    let policies: PolicyService;
    const clock = new ManualClock(T0);
    const recorder = recordingEvents();
    const { events } = recorder;
    let keystore: Keystore;
    let key: KeyRecord;
    let otherKey: KeyRecord;

    /** Groups and keystores from the keystore store, keys from the shared store (as services.ts wires them). */
    const policyDirectory = (s: DatabaseConnection) => ({ keystores: createKeystoreStore(s), keys: createKeyStore(s) });
    const service = (s: DatabaseConnection) => {
      live = createLiveState();
      live.putKeystore(keystore, new Map());
      live.putKey({ record: key, versions: new Map() });
      live.putKey({ record: otherKey, versions: new Map() });
      registry = new PolicyRegistry();
      return createPolicyService({
        store: createPolicyStore(s),
        directory: policyDirectory(s),
        live,
        registry,
        clock,
        newId: randomUUID,
        events: recorder,
      });
    };
    const authorize = (keyRecord: KeyRecord, principal: string, kmsOperation = 'Encrypt') =>
      createPolicyAuthorizer(registry).authorize({
        keystore: live.keystores()[0]!,
        key: live.key(keyRecord.groupId, keyRecord.externalId)!,
        operation: 'Encrypt',
        metadata: { awsPrincipalArn: principal, kmsOperation, kmsRequestId: 'r' },
      });
    /** Everything the service would show: compared before and after each failure. */
    const snapshot = async () => JSON.stringify([await policies.list(), await policies.listGroupDefaults()]);

    before(async () => {
      await target.setUp();
      store = await target.connect();
      const group = { id: randomUUID(), name: 'team', createdAt: T0 };
      const keystores = createKeystoreStore(store);
      await keystores.createGroup(group);
      keystore = {
        id: randomUUID(),
        name: 'team-ks',
        prefix: '/team',
        region: 'us-east-1',
        groupId: group.id,
        status: 'ENABLED',
        createdAt: T0,
      };
      await keystores.createKeystore(keystore, {
        accessKeyId: 'AKIAPOLICYTEST000001',
        keystoreId: keystore.id,
        sealedSecret: randomBytes(48),
        createdAt: T0,
      });
      for (const externalId of ['locked', 'open']) {
        const record: KeyRecord = {
          id: randomUUID(),
          groupId: group.id,
          externalId,
          usage: ['ENCRYPT', 'DECRYPT'],
          status: 'ENABLED',
          internal: false,
          currentVersion: 1,
          minDecryptVersion: 1,
          description: '',
          tags: {},
          createdAt: T0,
          updatedAt: T0,
        };
        await createKeyStore(store).createKey(record, {
          keyId: record.id,
          version: 1,
          sealedMaterial: randomBytes(60),
          state: 'ENABLED',
          origin: 'GENERATED',
          createdAt: T0,
        });
        if (externalId === 'locked') key = record;
        else otherKey = record;
      }
      policies = service(store);
      await policies.loadAll();
    });

    after(async () => {
      await store.close();
      await target.tearDown();
    });

    it('create stores the document, shows rules with their ids and attachment by name, and the next decision uses it', async () => {
      assert.equal(authorize(key, OTHER).allowed, true);
      const view = await policies.create(
        {
          name: 'lock',
          description: 'only the app',
          attach: { key: 'locked', keystore: 'team-ks' },
          rules: [
            { id: 'only-app', effect: 'deny', unless: { principal: [APP] } },
            { effect: 'allow', principal: [APP] },
          ],
        },
        { kind: 'token', id: 't1', name: 'ops' },
      );
      assert.deepEqual(view.attach, { key: 'locked', keystore: 'team-ks' });
      assert.deepEqual(
        view.rules.map((r) => r.id),
        ['only-app', 'rule-2'],
      );
      assert.equal(view.mode, 'enforce');
      assert.equal(view.createdAt, new Date(T0).toISOString());
      assert.deepEqual(await policies.show('lock'), view);
      assert.deepEqual(authorize(key, OTHER), { allowed: false, ruleId: 'lock/only-app', detail: authorize(key, OTHER).detail });
      assert.deepEqual(authorize(key, APP), { allowed: true, ruleId: 'lock/rule-2' });
      assert.equal(authorize(otherKey, OTHER).allowed, true, 'another key of the group is not affected');
      assert.deepEqual(events.at(-1), {
        actor: { kind: 'token', id: 't1', name: 'ops' },
        action: 'policy.create',
        target: { policy: 'lock', mode: 'enforce' },
        outcome: 'success',
      });
    });

    it('bad input is refused in one line and changes nothing', async () => {
      const before = await snapshot();
      const cases: [() => Promise<unknown>, ManagementError['kind'], RegExp][] = [
        [() => policies.create({ name: 'lock', rules: [] }), 'conflict', /policy "lock" already exists/],
        [() => policies.create({ name: 'x', attach: { keystore: 'nope' }, rules: [] }), 'not-found', /no keystore named "nope"/],
        [
          () => policies.create({ name: 'x', attach: { key: 'nope', keystore: 'team-ks' }, rules: [] }),
          'not-found',
          /no key "nope" in keystore "team-ks"/,
        ],
        [() => policies.create({ name: 'x', attach: { group: 'nope' }, rules: [] }), 'not-found', /no group named "nope"/],
        [() => policies.create({ name: 'x', rules: [{ effect: 'allow', account: ['abc'] }] }), 'invalid', /rules\[0\]\.account\[0\]/],
        [() => policies.update('lock', { name: 'renamed', rules: [] }), 'invalid', /cannot be renamed/],
        [() => policies.update('nope', { name: 'nope', rules: [] }), 'not-found', /no policy named "nope"/],
        [() => policies.attach('lock', { key: 'locked' }), 'invalid', /^attach must be/],
        [() => policies.attach('lock', { keystore: 'team-ks', colour: 'red' }), 'invalid', /attach\.colour: unknown field/],
        [() => policies.remove('nope'), 'not-found', /no policy named "nope"/],
        [() => policies.setGroupDefault('team', 'maybe' as never), 'invalid', /default must be allow or deny/],
        [() => policies.setGroupDefault('nope', 'deny'), 'not-found', /no group named "nope"/],
      ];
      for (const [call, kind, message] of cases) await assert.rejects(call(), refusedWith(kind, message));
      assert.equal(await snapshot(), before);
      assert.equal(authorize(key, OTHER).ruleId, 'lock/only-app');
    });

    it('update replaces the rules (keeping the attachment); attach, detach and set-default each take effect on the next decision', async () => {
      clock.advance(1000);
      const updated = await policies.update('lock', {
        name: 'lock',
        mode: 'audit-only',
        rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }],
      });
      assert.equal(updated.mode, 'audit-only');
      assert.deepEqual(updated.attach, { key: 'locked', keystore: 'team-ks' });
      assert.equal(updated.updatedAt, new Date(T0 + 1000).toISOString());
      assert.deepEqual(authorize(key, OTHER), { allowed: true, ruleId: 'lock/only-app', wouldDeny: true });

      await policies.update('lock', { name: 'lock', rules: [{ id: 'only-app', effect: 'deny', unless: { principal: [APP] } }] });
      assert.deepEqual((await policies.attach('lock', { keystore: 'team-ks' })).attach, { keystore: 'team-ks' });
      assert.equal(authorize(otherKey, OTHER).allowed, false, 'now on the keystore: every key of it');
      assert.deepEqual((await policies.attach('lock', { group: 'team' })).attach, { group: 'team' });
      assert.equal(authorize(otherKey, OTHER).ruleId, 'lock/only-app');
      assert.equal((await policies.detach('lock')).attach, undefined);
      assert.deepEqual(authorize(otherKey, OTHER), { allowed: true, ruleId: 'default:allow' });

      assert.deepEqual(await policies.setGroupDefault('team', 'deny'), { group: 'team', default: 'deny' });
      assert.deepEqual(authorize(otherKey, APP), { allowed: false, ruleId: 'default:deny', detail: authorize(otherKey, APP).detail });
      assert.deepEqual(await policies.listGroupDefaults(), [{ group: 'team', default: 'deny' }]);
      await policies.setGroupDefault('team', 'allow');
      assert.equal(authorize(otherKey, APP).allowed, true);
      await policies.setGroupDefault('team', 'deny');
    });

    it('a new service on the same database (a restart) rebuilds the same decisions from the tables', async () => {
      await policies.attach('lock', { key: 'locked', keystore: 'team-ks' });
      const restarted = service(store);
      assert.equal(authorize(key, APP).ruleId, 'default:allow', 'nothing loaded yet');
      await restarted.loadAll();
      assert.equal(authorize(key, OTHER).ruleId, 'lock/only-app');
      assert.equal(authorize(key, APP).ruleId, 'default:deny', 'the default survived the restart too');
      assert.deepEqual(await restarted.list(), await policies.list());
      policies = restarted;
    });

    it('simulate answers from the same index, never needing key material, and refuses unknown keys and fields', () => {
      const result = policies.simulate({
        keystore: 'team-ks',
        keyId: 'locked',
        operation: 'Encrypt',
        requestMetadata: { awsPrincipalArn: OTHER },
      });
      assert.equal(result.allowed, false);
      assert.equal(result.decidedBy, 'lock/only-app');
      assert.equal(result.policy, 'lock');
      assert.equal(result.trace.length, 1);
      assert.equal(
        policies.simulate({ keystore: 'team-ks', keyId: 'open', operation: 'GetKeyMetadata', requestMetadata: { awsPrincipalArn: APP } })
          .decidedBy,
        'default:deny',
      );
      assert.throws(
        () => policies.simulate({ keystore: 'nope', keyId: 'locked', operation: 'Encrypt', requestMetadata: {} }),
        /no keystore named "nope"/,
      );
      assert.throws(
        () => policies.simulate({ keystore: 'team-ks', keyId: 'nope', operation: 'Encrypt', requestMetadata: {} }),
        /no key "nope" in keystore "team-ks"/,
      );
      assert.throws(
        () => policies.simulate({ keystore: 'team-ks', keyId: 'locked', operation: 'Encrypt', requestMetadata: { principal: 'x' } }),
        /requestMetadata\.principal: unknown field/,
      );
    });

    it('remove deletes the policy and its effect', async () => {
      await policies.remove('lock');
      await assert.rejects(policies.show('lock'), /no policy named "lock"/);
      assert.equal(authorize(key, OTHER).ruleId, 'default:deny');
      assert.deepEqual(await policies.list(), []);
    });
  });
}

for (const target of dialectTargets()) suite(target.name === 'sqlite' ? 'SQLite' : 'PostgreSQL', target);
