import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRateLimiter } from '../../observability/rate-limit';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('a client may spend its burst at once and is then refused with a Retry-After', () => {
  const c = clock();
  const limiter = createRateLimiter({ capacity: 3, refillPerSecond: 1, now: c.now });
  assert.deepEqual([1, 2, 3].map(() => limiter.take('a').allowed), [true, true, true]);
  assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 1 });
});

test('tokens come back at the refill rate, never above the capacity', () => {
  const c = clock();
  const limiter = createRateLimiter({ capacity: 2, refillPerSecond: 0.5, now: c.now });
  limiter.take('a');
  limiter.take('a');
  assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 2 });
  c.advance(1_000);
  assert.deepEqual(limiter.peek('a'), { allowed: false, retryAfterSeconds: 1 });
  c.advance(1_000);
  assert.equal(limiter.take('a').allowed, true);
  c.advance(3_600_000);
  assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.take('a').allowed, false, 'a long pause refills to the capacity only');
});

test('each client has its own bucket', () => {
  const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, now: clock().now });
  assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.take('a').allowed, false);
  assert.equal(limiter.take('b').allowed, true);
});

test('peek does not spend a token', () => {
  const limiter = createRateLimiter({ capacity: 1, refillPerSecond: 1, now: clock().now });
  assert.equal(limiter.peek('a').allowed, true);
  assert.equal(limiter.peek('a').allowed, true);
  assert.equal(limiter.take('a').allowed, true);
  assert.equal(limiter.peek('a').allowed, false);
});

test('ten failures a minute: the eleventh is refused for about six seconds', () => {
  const limiter = createRateLimiter({ capacity: 10, refillPerSecond: 10 / 60, now: clock().now });
  for (let i = 0; i < 10; i++) assert.equal(limiter.take('a').allowed, true);
  assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 6 });
});

test('the number of buckets kept is bounded, and a busy client keeps its empty bucket while occasional ones come and go', () => {
  const c = clock();
  const limiter = createRateLimiter({ capacity: 5, refillPerSecond: 1, now: c.now, maxKeys: 3 });
  for (let i = 0; i < 5; i++) limiter.take('busy');
  for (let i = 0; i < 50; i++) {
    c.advance(1_000);
    assert.equal(limiter.take('busy').allowed, true, 'one token came back');
    limiter.take(`occasional-${i}`);
  }
  assert.equal(limiter.take('busy').allowed, false, 'a stream of other addresses does not reset the busy one');
  assert.equal(limiter.take('occasional-49').allowed, true);
});

test('a limiter without a positive rate or capacity is refused', () => {
  assert.throws(() => createRateLimiter({ capacity: 0, refillPerSecond: 1 }), RangeError);
  assert.throws(() => createRateLimiter({ capacity: 1, refillPerSecond: 0 }), RangeError);
});
