/** The XKS admission on its own: slots, quotas following the live keystore, reasons, settings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Keystore } from '../../src/domain/types.js';
import type { LiveKeystore } from '../../src/registry/live-state.js';
import { createThrottleAdmission as createAdmission, throttleReason, type ThrottleSettings } from '../../src/throttle/admission.js';
import { LoadShedError, XksError } from '../../src/xks/errors.js';
import type { XksAdmissionTicket } from '../../src/xks/pipeline-ports.js';

/** Without the event-loop lag gate unless a test gives a lag source: this test's own loop is not the subject. */
const createThrottleAdmission = (settings: ThrottleSettings = {}) => createAdmission({ shedOnLagMs: 0, ...settings });

function manualTime() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

const keystore = (id: string, quota?: Keystore['quota']): LiveKeystore => ({
  keystore: {
    id,
    name: id,
    prefix: `/${id}`,
    region: 'us-east-1',
    groupId: 'g',
    status: 'ENABLED',
    createdAt: 0,
    ...(quota ? { quota } : {}),
  },
  secrets: new Map(),
});

const request = (live: LiveKeystore) => ({ keystore: live, operation: 'Encrypt' as const });

function ticket(result: XksAdmissionTicket | XksError): XksAdmissionTicket {
  assert.ok(!(result instanceof XksError), `refused: ${(result as XksError).detail}`);
  return result;
}

const reasonOf = (result: XksAdmissionTicket | XksError | undefined) =>
  result instanceof XksError ? throttleReason(result.detail) : undefined;

describe('createThrottleAdmission', () => {
  it('counts a slot from admission to release, refusing at once beyond the limit; double releases give nothing back', () => {
    const admission = createThrottleAdmission({ maxInFlight: 2, now: manualTime().now });
    const ks = keystore('a');
    const [a, b] = [ticket(admission.admit(request(ks))), ticket(admission.admit(request(ks)))];
    assert.equal(admission.inFlight(), 2, 'admitted requests count before their work starts');
    const refused = admission.admit(request(ks));
    assert.equal(reasonOf(refused), 'concurrency');
    assert.equal((refused as XksError).status, 429);
    assert.equal(a.stillWorthIt!(), undefined);
    assert.equal(admission.inFlight(), 2, 'working still counts');
    a.release();
    a.release();
    assert.equal(admission.inFlight(), 1, 'released once');
    const c = ticket(admission.admit(request(ks)));
    b.release(); // aborted before its work started
    c.release();
    assert.equal(admission.inFlight(), 0);
  });

  it('a request still waiting for its body after shedAfterMs stops holding its slot, and is shed when the body comes', () => {
    const time = manualTime();
    const admission = createThrottleAdmission({ maxInFlight: 1, shedAfterMs: 100, now: time.now });
    const ks = keystore('a');
    const slow = ticket(admission.admit(request(ks)));
    assert.equal(reasonOf(admission.admit(request(ks))), 'concurrency');
    time.advance(100);
    assert.equal(reasonOf(admission.admit(request(ks))), 'concurrency', 'within its budget it holds the slot');
    time.advance(1);
    const next = ticket(admission.admit(request(ks)));
    assert.equal(admission.inFlight(), 1);
    assert.equal(reasonOf(slow.stillWorthIt!()), 'queue-time');
    slow.release();
    assert.equal(admission.inFlight(), 1, 'the expired ticket gave nothing back twice');
    assert.equal(next.stillWorthIt!(), undefined);
    next.release();
    assert.equal(admission.inFlight(), 0);
  });

  it('keeps its bookkeeping small under sustained traffic', () => {
    const time = manualTime();
    const admission = createThrottleAdmission({ maxInFlight: 8, shedAfterMs: 100, now: time.now });
    const ks = keystore('a');
    for (let i = 0; i < 100_000; i++) {
      const t = ticket(admission.admit(request(ks)));
      if (i % 3 === 0) t.release();
      else {
        assert.equal(t.stillWorthIt!(), undefined);
        t.release();
      }
      time.advance(0.01);
    }
    assert.equal(admission.inFlight(), 0);
  });

  it('maxInFlight 0 and shedAfterMs 0 turn those limits off', () => {
    const time = manualTime();
    const admission = createThrottleAdmission({ maxInFlight: 0, shedAfterMs: 0, now: time.now });
    const tickets = Array.from({ length: 1000 }, () => ticket(admission.admit(request(keystore('a')))));
    time.advance(10_000);
    for (const t of tickets) assert.equal(t.stillWorthIt!(), undefined);
    assert.equal(admission.inFlight(), 1000);
  });

  it('sheds a request that waited longer than shedAfterMs since admission, without taking a slot or a quota token', () => {
    const time = manualTime();
    const admission = createThrottleAdmission({ shedAfterMs: 100, now: time.now });
    const ks = keystore('a', { rps: 1, burst: 1 });
    const late = ticket(admission.admit(request(ks)));
    time.advance(101);
    const shed = late.stillWorthIt!();
    assert.equal(reasonOf(shed), 'queue-time');
    assert.equal((shed as XksError).status, 429);
    assert.equal(admission.inFlight(), 0);
    const next = ticket(admission.admit(request(ks)));
    assert.equal(next.stillWorthIt!(), undefined, 'the quota token was not spent by the shed request');
  });

  it('a quota follows the live keystore: set, changed and removed without a restart', () => {
    const time = manualTime();
    const admission = createThrottleAdmission({ now: time.now });
    const ks = keystore('a');
    const work = () => {
      const admitted = admission.admit(request(ks));
      if (admitted instanceof XksError) return admitted;
      const refused = admitted.stillWorthIt!();
      admitted.release();
      return refused;
    };
    for (let i = 0; i < 50; i++) assert.equal(work(), undefined, 'no quota: no limit');
    ks.keystore = { ...ks.keystore, quota: { rps: 1, burst: 2 } };
    assert.equal(work(), undefined);
    assert.equal(work(), undefined);
    assert.equal(reasonOf(work()), 'quota');
    ks.keystore = { ...ks.keystore, quota: { rps: 1000, burst: 2 } };
    assert.equal(reasonOf(work()), 'quota', 'a new rate keeps the tokens earned so far (none)');
    time.advance(1);
    assert.equal(work(), undefined, 'and refills at the new rate from the next request on: 1 ms at 1000/s');
    const { quota: _removed, ...rest } = ks.keystore;
    ks.keystore = rest;
    for (let i = 0; i < 50; i++) assert.equal(work(), undefined, 'removed');
  });

  it('keystores have separate buckets', () => {
    const admission = createThrottleAdmission({ now: manualTime().now });
    const [a, b] = [keystore('a', { rps: 1, burst: 1 }), keystore('b', { rps: 1, burst: 1 })];
    assert.equal(ticket(admission.admit(request(a))).stillWorthIt!(), undefined);
    assert.equal(reasonOf(admission.admit(request(a))), 'quota');
    assert.equal(ticket(admission.admit(request(b))).stillWorthIt!(), undefined);
  });

  it('refuses settings that make no sense', () => {
    assert.throws(() => createThrottleAdmission({ maxInFlight: -1 }), /maxInFlight/);
    assert.throws(() => createThrottleAdmission({ maxInFlight: 1.5 }), /maxInFlight/);
    assert.throws(() => createThrottleAdmission({ shedAfterMs: Number.NaN }), /shedAfterMs/);
    assert.throws(() => createAdmission({ shedOnLagMs: 250 }), /shedOnLagMs must be a number of milliseconds under 250/);
    assert.throws(() => createAdmission({ shedOnLagMs: -1 }), /shedOnLagMs/);
  });

  it('sheds a share of new requests while the event loop is behind (reason overload); working requests are untouched', () => {
    let lag = 0;
    const time = manualTime();
    const admission = createAdmission({ maxInFlight: 4, shedOnLagMs: 50, eventLoopLag: { lagMs: () => lag }, now: time.now });
    const ks = keystore('a');
    const working = ticket(admission.admit(request(ks)));
    assert.equal(working.stillWorthIt!(), undefined);
    lag = 51;
    const refused = admission.admit(request(ks));
    assert.equal(reasonOf(refused), 'overload');
    assert.equal((refused as XksError).detail, 'overload: event loop 51 ms behind (limit 50 ms), admitting 75 % of requests');
    assert.equal(admission.inFlight(), 1, 'a refusal takes no slot');
    for (let i = 0; i < 20; i++) {
      time.advance(10);
      const admitted = admission.admit(request(ks));
      if (!(admitted instanceof XksError)) admitted.release();
    }
    const outcomes = Array.from({ length: 10 }, () => reasonOf(admission.admit(request(ks))) ?? 'admitted');
    assert.equal(outcomes.filter((o) => o === 'overload').length, 9, outcomes.join());
    assert.equal(admission.inFlight(), 2, 'the one admitted counts');
  });

  it('shedOnLagMs 0 never reads the lag', () => {
    const admission = createAdmission({ shedOnLagMs: 0, eventLoopLag: { lagMs: () => assert.fail('read') } });
    ticket(admission.admit(request(keystore('a')))).release();
  });

  it('node-wide refusals are load shedding (answered before their audit commit); a quota refusal is not', () => {
    const time = manualTime();
    let lag = 0;
    const admission = createAdmission({
      maxInFlight: 1,
      shedAfterMs: 100,
      shedOnLagMs: 50,
      eventLoopLag: { lagMs: () => lag },
      now: time.now,
    });
    const ks = keystore('a', { rps: 1, burst: 1 });
    const first = ticket(admission.admit(request(ks)));
    const concurrency = admission.admit(request(ks));
    time.advance(101);
    const queueTime = first.stillWorthIt!();
    lag = 60;
    const overload = admission.admit(request(ks));
    lag = 0;
    for (let i = 0; i < 20; i++) {
      // Back on time, the share grows back to all with the requests that come.
      time.advance(10);
      const admitted = admission.admit(request(keystore('b')));
      if (!(admitted instanceof XksError)) admitted.release();
    }
    const spent = ticket(admission.admit(request(ks)));
    assert.equal(spent.stillWorthIt!(), undefined);
    spent.release();
    const quota = admission.admit(request(ks));
    assert.deepEqual([concurrency, queueTime, overload, quota].map(reasonOf), ['concurrency', 'queue-time', 'overload', 'quota']);
    for (const error of [concurrency, queueTime, overload]) assert.ok(error instanceof LoadShedError, (error as XksError).detail);
    assert.ok(quota instanceof XksError && !(quota instanceof LoadShedError));
    for (const error of [concurrency, queueTime, overload, quota]) assert.equal((error as XksError).errorName, 'ThrottlingException');
  });

  it('throttleReason reads the reason back from a record detail, and nothing else', () => {
    assert.equal(throttleReason('quota: x'), 'quota');
    assert.equal(throttleReason('concurrency: x'), 'concurrency');
    assert.equal(throttleReason('queue-time: x'), 'queue-time');
    assert.equal(throttleReason('overload: x'), 'overload');
    assert.equal(throttleReason('signature mismatch'), undefined);
    assert.equal(throttleReason(undefined), undefined);
  });
});
