import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PubAck } from 'nats';
import { isRetryablePublishError, publishDurably, publishWithRetry, PublishNotAcknowledgedError, retryDelay, type RetryPolicy } from '../../platform/jetstream-publish';

const natsError = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const ack = (seq: number, duplicate = false): PubAck => ({ stream: 'FAULTS', seq, duplicate, domain: undefined as unknown as string, ack: () => undefined } as unknown as PubAck);

/** A fake clock: sleeping advances it, so the tests take no real time. */
function clock(): Required<Pick<RetryPolicy, 'now' | 'sleep'>> & { slept: number[] } {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: (ms) => {
      slept.push(ms);
      t += ms;
      return Promise.resolve();
    },
  };
}

test('the errors of a lost leader or connection are retryable; others are not', () => {
  for (const code of ['TIMEOUT', '503', 'DISCONNECT', 'CONNECTION_CLOSED', 'CONNECTION_REFUSED']) assert.equal(isRetryablePublishError(natsError(code)), true, code);
  for (const code of ['PERMISSIONS_VIOLATION', 'AUTHORIZATION_VIOLATION', '400', 'BAD_PAYLOAD']) assert.equal(isRetryablePublishError(natsError(code)), false, code);
  assert.equal(isRetryablePublishError(new Error('plain')), false);
  assert.equal(isRetryablePublishError(undefined), false);
});

test('backoff doubles from the base and is capped', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelay(n, 100, 2_000)), [100, 200, 400, 800, 1_600, 2_000, 2_000]);
});

test('retries timeouts and no-responders until acknowledged, with one stable message id', async () => {
  const c = clock();
  const seen: { msgID?: string; timeout?: number }[] = [];
  const failures = [natsError('TIMEOUT'), natsError('503'), natsError('DISCONNECT')];
  const js = {
    publish: (_subject: string, _data?: Uint8Array, opts?: { msgID?: string; timeout?: number }) => {
      seen.push({ ...(opts?.msgID ? { msgID: opts.msgID } : {}), ...(opts?.timeout ? { timeout: opts.timeout } : {}) });
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve(ack(7));
    },
  };
  const retried: number[] = [];
  const result = await publishDurably(js as never, 'faults.a.b', '{}', { msgID: 'ev-1', ...c, onRetry: (n) => retried.push(n) });
  assert.equal(result.seq, 7);
  assert.equal(seen.length, 4);
  assert.deepEqual(new Set(seen.map((s) => s.msgID)), new Set(['ev-1']));
  assert.deepEqual(retried, [1, 2, 3]);
  assert.deepEqual(c.slept, [100, 200, 400]);
});

test('each attempt is given no more time than is left before the deadline', async () => {
  const c = clock();
  const timeouts: number[] = [];
  await assert.rejects(
    publishWithRetry('p', (timeout) => {
      timeouts.push(timeout);
      return Promise.reject(natsError('TIMEOUT'));
    }, { ...c, deadlineMs: 1_000, attemptTimeoutMs: 5_000, baseDelayMs: 300, maxDelayMs: 300 }),
    PublishNotAcknowledgedError,
  );
  assert.equal(timeouts[0], 1_000);
  assert.ok(timeouts.every((t, i) => i === 0 || t < (timeouts[i - 1] ?? Infinity)), `timeouts shrink: ${timeouts.join(',')}`);
});

test('the bound is an error naming the attempts and the last failure, never a silent drop', async () => {
  const c = clock();
  let calls = 0;
  const err = await publishWithRetry('publish ev-2 to faults.x', () => {
    calls++;
    return Promise.reject(natsError('TIMEOUT', 'TIMEOUT'));
  }, { ...c, deadlineMs: 30_000 }).then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PublishNotAcknowledgedError);
  assert.equal(err.attempts, calls);
  assert.ok(calls > 5, `retried ${calls} times`);
  assert.match(err.message, /publish ev-2 to faults\.x: not acknowledged within 30000 ms after \d+ attempts: TIMEOUT/);
  assert.ok(c.now() <= 30_000, 'never sleeps past the deadline');
});

test('an error that cannot heal is not retried', async () => {
  let calls = 0;
  await assert.rejects(
    publishWithRetry('p', () => {
      calls++;
      return Promise.reject(natsError('PERMISSIONS_VIOLATION', 'Permissions Violation for Publish'));
    }, clock()),
    (e: unknown) => e instanceof PublishNotAcknowledgedError && /Permissions Violation/.test(e.message) && e.attempts === 1,
  );
  assert.equal(calls, 1);
});

test('a connection closed for good ends the retries at once', async () => {
  let calls = 0;
  await assert.rejects(
    publishWithRetry('p', () => {
      calls++;
      return Promise.reject(natsError('CONNECTION_CLOSED'));
    }, { ...clock(), closed: () => calls >= 2 }),
    /the connection is closed/,
  );
  assert.equal(calls, 2);
});

test('without a way to tell, CONNECTION_CLOSED is taken as closed for good; with one, it is retried while reconnecting', async () => {
  let calls = 0;
  const closedOnce = (): Promise<never> => {
    calls++;
    return Promise.reject(natsError('CONNECTION_CLOSED'));
  };
  await assert.rejects(publishWithRetry('p', closedOnce, clock()), /the connection is closed/);
  assert.equal(calls, 1);
  calls = 0;
  let reconnecting = true;
  const result = await publishWithRetry('p', () => (calls++ < 2 ? Promise.reject(natsError('CONNECTION_CLOSED')) : Promise.resolve('stored')), { ...clock(), closed: () => !reconnecting });
  assert.equal(result, 'stored');
  assert.equal(calls, 3);
  reconnecting = false;
});
