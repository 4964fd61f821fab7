import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncidentState } from '../../schemas/incident-state';
import { countStorm, effectKeyOf, parseEffectLog, type StormRun } from '../helpers/storm-count';

const PREFIX = 'incident/storm/';

/** A closed run of `target` over [start, close] that absorbed `ids`, its effect step in `effect`. */
function run(target: string, runId: string, start: number, close: number | undefined, ids: string[], effect: 'succeeded' | 'skipped' = 'succeeded'): StormRun {
  const state = {
    target,
    status: close === undefined ? 'remediating' : 'resolved',
    epoch: 0,
    faults: { count: ids.length, recentEventIds: ids },
    steps: [{ id: 'append', status: effect }],
  } as unknown as IncidentState;
  return { workflowId: `${PREFIX}${target}`, runId, startMs: start, ...(close !== undefined ? { closeMs: close } : {}), state };
}

const line = (r: StormRun): string => `${r.state?.target ?? ''} ${effectKeyOf(r)}`;

test('a clean storm counts zero on every figure', () => {
  const a1 = run('a', 'r1', 0, 10, ['e1', 'e2']);
  const a2 = run('a', 'r2', 11, 20, ['e3']);
  const b1 = run('b', 'r3', 0, 5, ['e4'], 'skipped');
  const count = countStorm({
    acked: new Map([['a', ['e1', 'e2', 'e3']], ['b', ['e4']]]),
    deadLettered: new Set(),
    runs: [a1, a2, b1],
    lines: parseEffectLog(`${line(a1)}\n${line(a2)}\n`),
    incidentPrefix: PREFIX,
  });
  assert.deepEqual([count.lost, count.absorbedTwice, count.miscounted, count.overlaps, count.duplicates, count.strayKeys, count.succeededNotOnce, count.stuck], [[], [], [], [], [], [], [], []]);
  assert.equal(count.acked, 4);
  assert.deepEqual(count.ambiguous, { steps: 1, ranOnce: 0, ranNever: 1 });
  assert.deepEqual(count.byStatus, { resolved: 3 });
  assert.equal(count.maxIncidentsPerTarget, 2);
  assert.deepEqual(count.lifetimeMs, { min: 5, p50: 9, max: 10 });
  assert.ok(count.ledgersComplete);
});

test('a lost event, an overlap, a doubled effect and an open run are each named', () => {
  const a1 = run('a', 'r1', 0, 15, ['e1']);
  const a2 = run('a', 'r2', 10, undefined, ['e2']);
  const count = countStorm({
    acked: new Map([['a', ['e1', 'e2', 'e3']]]),
    deadLettered: new Set(),
    runs: [a2, a1],
    lines: parseEffectLog(`${line(a1)}\n${line(a1)}\nb ${PREFIX}b/zz/append/e0\n`),
    incidentPrefix: PREFIX,
  });
  assert.deepEqual(count.lost, ['e3']);
  assert.deepEqual(count.miscounted, ['a']);
  assert.deepEqual(count.overlaps, [`${PREFIX}a: r1 open when r2 started`]);
  assert.deepEqual(count.duplicates, [effectKeyOf(a1)]);
  assert.deepEqual(count.succeededNotOnce, [effectKeyOf(a2), effectKeyOf(a1)]);
  assert.deepEqual(count.strayKeys, [`${PREFIX}b/zz/append/e0`]);
  assert.equal(count.stuck.length, 1);
  assert.deepEqual(count.byStatus, { resolved: 1, open: 1 });
});

test('a dead-lettered event is accounted for, not lost; an event in two ledgers is named; a full ledger is flagged', () => {
  const a1 = run('a', 'r1', 0, 5, ['e1']);
  const a2 = run('a', 'r2', 6, 9, ['e1']);
  const partial = run('c', 'r3', 0, 5, ['e9']);
  if (partial.state) partial.state.faults.count = 2;
  const count = countStorm({
    acked: new Map([['a', ['e1', 'e2']], ['c', ['e8', 'e9']]]),
    deadLettered: new Set(['e2', 'e8']),
    runs: [a1, a2, partial],
    lines: [],
    incidentPrefix: PREFIX,
  });
  assert.deepEqual(count.lost, []);
  assert.deepEqual(count.absorbedTwice, ['e1']);
  assert.deepEqual(count.miscounted, ['a', 'c']);
  assert.equal(count.ledgersComplete, false);
});
