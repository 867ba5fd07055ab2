// chainEvent writes the canonical array out by hand (it runs once per request); it must stay the
// documented canonical form, which canonicalEvent builds from FIELD_ORDER.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalEvent, chainEvent, chainEventWithForm, eventHash, GENESIS_HASH, type AuditEventFields } from '../../src/audit/event.js';
import { sampleEvent } from './fixture.js';

describe('audit event canonical form', () => {
  it('chainEvent hashes exactly canonicalEvent, with every field set, absent or awkward', () => {
    const full: AuditEventFields = {
      ...sampleEvent(7, 1_764_000_000_123),
      actorName: 'n\u00e4me "quoted"\n\u2028',
      sourceVpc: 'vpc-1',
      sourceVpce: 'vpce-1',
      kmsViaService: 'ebs',
      detail: 'lone \ud800 surrogate',
      policyRuleId: 'rule-1',
      target: '{"policyWouldDeny":true}',
    };
    const sparse = { ...sampleEvent(8, 1), actorId: undefined, keyVersion: undefined } as unknown as AuditEventFields;
    for (const fields of [full, sparse]) {
      const { event, canonical } = chainEventWithForm(fields, 'node-1', 42, GENESIS_HASH);
      const { hash, ...unhashed } = event;
      assert.equal(canonical, canonicalEvent(unhashed));
      assert.equal(hash, eventHash(unhashed));
      assert.deepEqual(chainEvent(fields, 'node-1', 42, GENESIS_HASH), event);
    }
  });
});
