/** The event-loop lag signal: its arithmetic on a manual clock, the hysteresis of the gate, and the real timer. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LagGate, LagSamples, monitorEventLoopLag } from '../../src/throttle/event-loop-lag.js';

/** Blocks this thread (and so its event loop) for `ms`, without spinning. */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const nextTimer = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('LagSamples', () => {
  it('reads 0 while the timer fires on time', () => {
    const samples = new LagSamples(10, 0);
    for (let at = 10; at <= 100; at += 10) samples.tick(at);
    assert.equal(samples.lagMs(105), 0);
  });

  it('one late turn (a pause) does not count; two in a row do, until a turn is on time again', () => {
    const samples = new LagSamples(10, 0);
    samples.tick(10);
    samples.tick(100); // due at 20: 80 late
    assert.equal(samples.lagMs(100), 0, 'a single late sample is a pause, not overload');
    samples.tick(190); // due at 110: 80 late again
    assert.equal(samples.lagMs(190), 80);
    samples.tick(200); // on time
    assert.equal(samples.lagMs(200), 0);
  });

  it('while the next sample is overdue, the lag is how overdue it is', () => {
    const samples = new LagSamples(10, 0);
    samples.tick(10);
    assert.equal(samples.lagMs(15), 0, 'not yet due');
    assert.equal(samples.lagMs(90), 70, 'due at 20, still not fired at 90: the loop is inside one long turn');
  });
});

describe('LagGate', () => {
  function gate() {
    let lag = 0;
    let now = 0;
    const lagGate = new LagGate({ lagMs: () => lag }, 50, () => now);
    /** Offers `count` requests at the current time; returns how many were admitted. */
    const offer = (count: number) => Array.from({ length: count }, () => lagGate.check()).filter((r) => r === undefined).length;
    return { lagGate, offer, setLag: (ms: number) => void (lag = ms), advance: (ms: number) => void (now += ms) };
  }

  it('admits everything while the lag is at or under the threshold', () => {
    const { lagGate, offer, setLag, advance } = gate();
    for (const lag of [0, 30, 50]) {
      setLag(lag);
      advance(10);
      assert.equal(offer(100), 100);
    }
    assert.equal(lagGate.admitShare(), 1);
  });

  it('above the threshold the admitted share shrinks every 10 ms, to 1 in 10 at least, and which requests pass is deterministic', () => {
    const { lagGate, offer, setLag, advance } = gate();
    setLag(80);
    assert.deepEqual(lagGate.check(), { lagMs: 80, admitShare: 0.75 }, 'the first late reading sheds at once');
    assert.equal(offer(3), 3, '…then 3 of the next 4 pass (no new adjustment within 10 ms)');
    advance(10);
    assert.equal(lagGate.admitShare(), 0.75, 'adjusted on the next request, not by a timer');
    lagGate.check();
    assert.equal(lagGate.admitShare(), 0.5625);
    for (let i = 0; i < 20; i++) {
      advance(10);
      lagGate.check();
    }
    assert.equal(lagGate.admitShare(), 0.1);
    assert.equal(offer(100), 10, 'one request in ten');
  });

  it('hysteresis: between half the threshold and the threshold the share holds; at half or less it grows back by 0.05 every 10 ms', () => {
    const { lagGate, offer, setLag, advance } = gate();
    setLag(80);
    for (let i = 0; i < 30; i++) {
      advance(10);
      lagGate.check();
    }
    assert.equal(lagGate.admitShare(), 0.1);
    setLag(40);
    advance(100);
    assert.equal(offer(100), 10, 'below the threshold, above half of it: still 1 in 10');
    setLag(25);
    advance(10);
    lagGate.check();
    assert.ok(Math.abs(lagGate.admitShare() - 0.15) < 1e-9, String(lagGate.admitShare()));
    for (let i = 0; i < 20; i++) {
      advance(10);
      lagGate.check();
    }
    assert.equal(lagGate.admitShare(), 1);
    assert.equal(offer(100), 100);
  });
});

describe('monitorEventLoopLag', () => {
  it('sees a loop that stays behind, live and from its samples, and reads 0 once stopped', async () => {
    const monitor = monitorEventLoopLag({ sampleMs: 5 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      block(120);
      // Inside the long turn the timer cannot fire; the lag is how overdue it is.
      assert.ok(monitor.lagMs() >= 100, `live: ${monitor.lagMs()} ms`);
      await nextTimer();
      block(120);
      await nextTimer();
      // Two late turns in a row: the samples say so even right after the timer fired.
      assert.ok(monitor.lagMs() >= 100, `sampled: ${monitor.lagMs()} ms`);
    } finally {
      monitor.stop();
    }
    assert.equal(monitor.lagMs(), 0);
  });

  it('refuses a sample interval under 1 ms', () => {
    assert.throws(() => monitorEventLoopLag({ sampleMs: 0 }), /sampleMs/);
  });
});
