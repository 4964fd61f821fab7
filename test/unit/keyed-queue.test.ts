import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyedQueue } from '../../intake/keyed-queue';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('KeyedQueue', () => {
  test('tasks with the same key run one at a time in the order they were pushed', async () => {
    const queue = new KeyedQueue(8);
    const order: number[] = [];
    let running = 0;
    let maxRunning = 0;
    for (let i = 0; i < 20; i++) {
      queue.push('target-a', async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, (20 - i) % 3));
        order.push(i);
        running -= 1;
      });
    }
    await queue.onIdle();
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
    assert.equal(maxRunning, 1);
  });

  test('tasks with different keys run in parallel up to the concurrency bound and never beyond it', async () => {
    const queue = new KeyedQueue(3);
    const gates = Array.from({ length: 10 }, () => deferred());
    let running = 0;
    let maxRunning = 0;
    gates.forEach((gate, i) =>
      queue.push(`target-${i}`, async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await gate.promise;
        running -= 1;
      }),
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(queue.active, 3);
    // Release one at a time; a newcomer pushed meanwhile must not overtake the bound.
    for (const gate of gates) {
      queue.push(`late-${Math.random()}`, async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        running -= 1;
      });
      gate.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await queue.onIdle();
    assert.equal(maxRunning, 3);
    assert.equal(queue.size, 0);
  });

  test('a task that throws does not stall the tasks queued behind it', async () => {
    const queue = new KeyedQueue(2);
    const ran: string[] = [];
    queue.push('k', async () => {
      throw new Error('boom');
    });
    queue.push('k', async () => {
      ran.push('second');
    });
    await queue.onIdle();
    assert.deepEqual(ran, ['second']);
  });

  test('pendingFor counts the queued and running tasks of one key', async () => {
    const queue = new KeyedQueue(1);
    const gate = deferred();
    const seen: number[] = [];
    queue.push('k', async () => {
      seen.push(queue.pendingFor('k'));
      await gate.promise;
    });
    queue.push('k', async () => {
      seen.push(queue.pendingFor('k'));
    });
    queue.push('other', async () => undefined);
    assert.equal(queue.pendingFor('k'), 2);
    gate.resolve();
    await queue.onIdle();
    assert.deepEqual(seen, [2, 1]);
    assert.equal(queue.pendingFor('k'), 0);
  });

  test('onIdle resolves at once when nothing is queued', async () => {
    await new KeyedQueue(1).onIdle();
  });

  test('a concurrency below one is refused', () => {
    assert.throws(() => new KeyedQueue(0), RangeError);
  });
});
