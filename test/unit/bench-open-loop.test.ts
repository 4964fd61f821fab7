import assert from 'node:assert/strict';
import { test } from 'node:test';
import { epochNowMs, openLoop } from '../../bench/open-loop';

test('the open loop fires on schedule without waiting for slow operations to finish', async () => {
  const fired: { i: number; at: number; due: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  await openLoop(5, 100, async (i, due) => {
    fired.push({ i, at: epochNowMs(), due });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Each operation outlasts the 10 ms interval, so a closed loop would never overlap them.
    await new Promise((r) => setTimeout(r, 60));
    inFlight -= 1;
  });
  assert.deepEqual(fired.map((f) => f.i), [0, 1, 2, 3, 4]);
  assert.ok(maxInFlight > 1, `operations overlapped (${maxInFlight} at once)`);
  const dues = fired.map((f) => f.due);
  for (let i = 1; i < dues.length; i++) assert.ok(Math.abs((dues[i] as number) - (dues[i - 1] as number) - 10) < 0.001, 'intended times are exactly one interval apart');
  for (const f of fired) assert.ok(f.at >= f.due - 1, 'nothing fires before its time');
});

test('a failing operation fails the loop after the others settled', async () => {
  let settled = 0;
  await assert.rejects(
    openLoop(3, 1_000, async (i) => {
      await new Promise((r) => setTimeout(r, 5));
      settled += 1;
      if (i === 1) throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(settled, 3);
});
