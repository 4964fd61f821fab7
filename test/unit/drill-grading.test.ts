import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveDurations, formatMs, gradeDrill, trafficRestoredAt } from '../../engine/drill-grading';
import type { DrillMeasurements } from '../../schemas/drill-report';

const T0 = Date.parse('2026-04-01T10:00:00.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** A drill where the fault is at 0 s, traffic back at 4 s, healed at 20 s, the newest canary on the serving side from -2 s. */
const measured: DrillMeasurements = {
  faultAt: at(0),
  detectedAt: at(1),
  trafficRestoredAt: at(4),
  healedAt: at(20),
  failedRequests: 3,
  requestsSent: 400,
  canary: { written: 30, writeFailures: 2, newestBeforeFault: { seq: 10, at: at(-0.5) }, newestOnServing: { seq: 8, at: at(-2) }, presentOnServing: 8 },
};
const healedAndRestored = { incidentStatus: 'resolved', restoredOk: true };

test('durations and lost records are derived from the times and sequence numbers', () => {
  const m = deriveDurations(measured);
  assert.equal(m.rtoMs, 4_000);
  assert.equal(m.healMs, 20_000);
  assert.equal(m.rpoMs, 2_000);
  assert.equal(m.canary?.lost, 2);
  assert.equal(deriveDurations({ ...measured, rtoMs: 1_234 }).rtoMs, 1_234, 'a duration the drill measured itself is kept');
});

test('a drill within every objective passes, each objective graded against its target as written', () => {
  const v = gradeDrill({ rto: '5s', heal: '30s', rpo: '3s', failed_requests: 5, data_loss: 2 }, measured, healedAndRestored);
  assert.equal(v.result, 'passed');
  assert.deepEqual(v.reasons, []);
  assert.deepEqual(v.grades, [
    { objective: 'rto', target: '5s', measured: '4.0s', pass: true },
    { objective: 'heal', target: '30s', measured: '20.0s', pass: true },
    { objective: 'rpo', target: '3s', measured: '2.0s', pass: true },
    { objective: 'failed_requests', target: '5', measured: '3', pass: true },
    { objective: 'data_loss', target: '2', measured: '2', pass: true },
    { objective: 'healed', target: 'resolved', measured: 'resolved', pass: true },
    { objective: 'restored', target: 'restored', measured: 'restored', pass: true },
  ]);
});

test('a measurement equal to its target passes and one just over fails, with the reason in words', () => {
  assert.equal(gradeDrill({ rto: '4s' }, measured, healedAndRestored).result, 'passed');
  const v = gradeDrill({ rto: '3999ms', failed_requests: 2 }, measured, healedAndRestored);
  assert.equal(v.result, 'failed');
  assert.deepEqual(v.grades.filter((g) => !g.pass).map((g) => g.objective), ['rto', 'failed_requests']);
  assert.deepEqual(v.reasons, ['the RTO was 4.0s, over the objective of 3999ms', '3 failed requests, over the budget of 2']);
});

test('an objective that could not be measured fails and says why', () => {
  const noCanary = { ...measured, canary: undefined };
  const v = gradeDrill({ rpo: '10s', data_loss: 0, failed_requests: 0 }, { ...noCanary, failedRequests: undefined }, healedAndRestored);
  assert.equal(v.result, 'failed');
  assert.deepEqual(v.grades.slice(0, 3).map((g) => [g.objective, g.measured, g.pass]), [
    ['rpo', 'not measured', false],
    ['failed_requests', 'not measured', false],
    ['data_loss', 'not measured', false],
  ]);
  assert.ok(v.reasons.includes('no canary was named, so the RPO could not be measured'));
  assert.ok(v.reasons.includes('no load probe was named, so failed requests could not be counted'));
  assert.ok(v.reasons.includes('no canary was named, so lost records could not be counted'));

  const notRestored = gradeDrill({ rto: '30s' }, { ...measured, trafficRestoredAt: undefined }, healedAndRestored);
  assert.deepEqual(notRestored.reasons, ['traffic was not seen restored, so the RTO could not be measured']);
  const noFault = gradeDrill({ heal: '30s' }, { canary: undefined }, { incidentStatus: undefined, restoredOk: true });
  assert.deepEqual(noFault.reasons, ['the fault was not injected, so the time to heal could not be measured', 'no incident opened for the fault']);
});

test('a failed incident and an unrestored start state fail the drill even without objectives', () => {
  const v = gradeDrill(undefined, measured, { incidentStatus: 'failed', restoredOk: false });
  assert.equal(v.result, 'failed');
  assert.deepEqual(v.grades, [
    { objective: 'healed', target: 'resolved', measured: 'failed', pass: false },
    { objective: 'restored', target: 'restored', measured: 'not restored', pass: false },
  ]);
  assert.deepEqual(v.reasons, ['the incident ended failed, not resolved', 'the starting state was not restored']);
  assert.equal(gradeDrill(undefined, measured, healedAndRestored).result, 'passed');
});

test('traffic is restored at the end of the last outage after the fault, or at the fault when clients saw none', () => {
  const fault = at(0);
  assert.equal(trafficRestoredAt([], fault), fault, 'no outage: RTO 0');
  assert.equal(trafficRestoredAt([{ from: at(-60), to: at(-50) }], fault), fault, 'an outage over before the fault does not count');
  assert.equal(trafficRestoredAt([{ from: at(-1), to: at(3) }], fault), at(3), 'an outage under way at the fault counts');
  assert.equal(trafficRestoredAt([{ from: at(-60), to: at(-50) }, { from: at(1), to: at(4) }, { from: at(6), to: at(7) }], fault), at(7), 'the last outage after the fault');
  assert.equal(trafficRestoredAt([{ from: at(1), to: at(9) }, { from: at(2), to: at(5) }], fault), at(9), 'overlapping outages of two probes: the later end');
  assert.equal(trafficRestoredAt([{ from: at(1), to: at(4) }, { from: at(6) }], fault), undefined, 'still out: not restored');
  assert.equal(trafficRestoredAt([{ from: fault, to: at(2) }], fault), at(2), 'an outage beginning at the fault counts');
});

test('milliseconds read as a person would', () => {
  assert.deepEqual([850, 12_340, 300_000, 9_000_000].map(formatMs), ['850ms', '12.3s', '5.0m', '2.5h']);
});
