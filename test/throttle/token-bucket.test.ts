/** The token bucket, driven by a manual monotonic time source. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket } from '../../src/throttle/token-bucket.js';

function manualTime(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms), set: (ms: number) => (now = ms) };
}

const takeAll = (bucket: TokenBucket) => {
  let taken = 0;
  while (bucket.take()) taken += 1;
  return taken;
};

describe('TokenBucket', () => {
  it('starts full: a burst of `burst` requests passes at once, the next is refused', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 10, burst: 5 }, time.now);
    assert.equal(takeAll(bucket), 5);
    assert.equal(bucket.take(), false);
    assert.equal(bucket.hasToken(), false);
  });

  it('refills continuously at rps: 100 ms at 10/s is one token, 50 ms is half of one', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 10, burst: 5 }, time.now);
    takeAll(bucket);
    time.advance(50);
    assert.equal(bucket.take(), false, 'half a token is not a token');
    time.advance(50);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
    time.advance(250);
    assert.equal(takeAll(bucket), 2, '250 ms at 10/s is 2.5 tokens: two requests');
    time.advance(50);
    assert.equal(bucket.take(), true, 'the half token left over counts toward the next');
  });

  it('never holds more than burst, however long it was idle', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 100, burst: 3 }, time.now);
    takeAll(bucket);
    time.advance(3_600_000);
    assert.equal(bucket.available(), 3);
    assert.equal(takeAll(bucket), 3);
  });

  it('hasToken looks without taking', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 1, burst: 1 }, time.now);
    assert.equal(bucket.hasToken(), true);
    assert.equal(bucket.hasToken(), true);
    assert.equal(bucket.take(), true);
    assert.equal(bucket.hasToken(), false);
  });

  it('fractional rates: 0.5/s gives one request every two seconds', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 0.5, burst: 1 }, time.now);
    assert.equal(bucket.take(), true);
    time.advance(1_999);
    assert.equal(bucket.take(), false);
    time.advance(1);
    assert.equal(bucket.take(), true);
  });

  it('rate changes keep the tokens earned, capped at the new burst, and refill at the new rate from then on', () => {
    const time = manualTime();
    const bucket = new TokenBucket({ rps: 1, burst: 10 }, time.now);
    takeAll(bucket);
    time.advance(4_000);
    bucket.setRate({ rps: 100, burst: 2 });
    assert.equal(bucket.available(), 2, '4 tokens earned at the old rate, capped at the new burst');
    takeAll(bucket);
    time.advance(10);
    assert.equal(bucket.take(), true, '10 ms at 100/s is one token');
    bucket.setRate({ rps: 1, burst: 50 });
    assert.equal(bucket.available() < 1, true, 'raising burst adds no tokens by itself');
    time.advance(5_000);
    assert.equal(Math.floor(bucket.available()), 5);
  });

  it('time that runs backwards refills nothing and does not break later refills', () => {
    const time = manualTime(10_000);
    const bucket = new TokenBucket({ rps: 10, burst: 2 }, time.now);
    takeAll(bucket);
    time.set(5_000);
    assert.equal(bucket.take(), false);
    time.advance(100);
    assert.equal(bucket.take(), true, 'refill resumes from where time went back to');
  });
});
