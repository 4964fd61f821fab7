import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideRestart, DEFAULT_RESTART_POLICY, emptyHistory, type RestartDecision, type RestartHistory, type RestartPolicy } from '../../stack/restart-policy';

const policy: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000, maxRestarts: 5, windowMs: 300_000 };

/** Crashes at each time in `times`, each one `upMs` after the previous restart became healthy. */
function crashAt(times: number[], upMs: number | undefined, p = policy): RestartDecision[] {
  let history: RestartHistory = emptyHistory();
  return times.map((now) => {
    const result = decideRestart(p, history, now, upMs === undefined ? undefined : now - upMs);
    history = result.history;
    return result.decision;
  });
}

test('the wait before a restart doubles from 0.5 s with each crash in a row', () => {
  // Far apart so no crash-loop limit applies, but never up long enough to reset.
  const wide = { ...policy, windowMs: 1 };
  const delays = crashAt([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000], 10, wide).map((d) => (d.action === 'restart' ? d.delayMs : -1));
  assert.deepEqual(delays, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
});

test('a component that stayed healthy for the reset period starts again from the initial wait', () => {
  const wide = { ...policy, windowMs: 1 };
  let history = emptyHistory();
  for (const now of [0, 1_000, 2_000]) history = decideRestart(wide, history, now, now - 10).history;
  const shortUp = decideRestart(wide, history, 3_000, 3_000 - 59_999).decision;
  assert.deepEqual(shortUp.action === 'restart' && shortUp.delayMs, 4_000);
  const longUp = decideRestart(wide, history, 100_000, 100_000 - 60_000).decision;
  assert.deepEqual(longUp.action === 'restart' && longUp.delayMs, 500);
});

test('a death before the component ever became healthy does not reset the backoff', () => {
  let history = emptyHistory();
  for (const now of [0, 1_000]) history = decideRestart({ ...policy, windowMs: 1 }, history, now, undefined).history;
  const d = decideRestart({ ...policy, windowMs: 1 }, history, 1_000_000, undefined).decision;
  assert.deepEqual(d.action === 'restart' && d.delayMs, 2_000);
});

test('more than five crashes within five minutes gives the component up', () => {
  const decisions = crashAt([0, 10_000, 20_000, 30_000, 40_000, 50_000], 5);
  assert.deepEqual(decisions.map((d) => d.action), ['restart', 'restart', 'restart', 'restart', 'restart', 'give-up']);
  assert.equal(decisions[5]?.restartsInWindow, 5);
});

test('crashes older than the window no longer count towards giving up', () => {
  const decisions = crashAt([0, 10_000, 20_000, 30_000, 40_000, 300_001], 5);
  assert.deepEqual(decisions.map((d) => d.action), ['restart', 'restart', 'restart', 'restart', 'restart', 'restart']);
  assert.equal(decisions[5]?.restartsInWindow, 5);
});

test('a component that crashes every few minutes is restarted indefinitely', () => {
  const times = Array.from({ length: 20 }, (_, i) => i * 61_000 * 2);
  assert.ok(crashAt(times, 61_000).every((d) => d.action === 'restart' && d.delayMs === 500));
});

test('the default policy is the documented one', () => {
  assert.deepEqual(DEFAULT_RESTART_POLICY, policy);
});
