import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HumanRequest } from '../../schemas/incident-state';
import { HumanGate } from '../../workflows/human-gate';
import { MAX_REFUSED_KEPT } from '../../workflows/refusal-cap';

const request = (): HumanRequest => ({ requestId: 'r1', type: 'approval', step: 'risky', reason: 'needs approval', requestedAt: '2026-01-01T00:00:00.000Z', decisions: [], outcome: 'approve' });
const bad = (i: number) => ({ by: `mallory-${i}`, channel: 'api', reason: 'flood', step: 'risky', requestId: 'r1', verdict: 'approve' as const });

test('refused decisions past the cap are counted, not kept', () => {
  const requests = [request()];
  const gate = new HumanGate(requests, () => '2026-01-01T00:00:01.000Z', { verdictMustFit: true }, { capRefusals: true });
  for (let i = 0; i < MAX_REFUSED_KEPT + 30; i++) gate.refuse(bad(i), 'already decided');
  const r = requests[0];
  assert.equal(r?.decisions.length, MAX_REFUSED_KEPT);
  assert.equal(r?.refusedOmitted, 30);
  assert.deepEqual(r?.decisions.map((d) => d.by).slice(0, 2), ['mallory-0', 'mallory-1'], 'the first ones are the ones kept');
});

test('incidents started before the cap keep every refused decision', () => {
  const requests = [request()];
  const gate = new HumanGate(requests, () => '2026-01-01T00:00:01.000Z', { verdictMustFit: true });
  for (let i = 0; i < MAX_REFUSED_KEPT + 5; i++) gate.refuse(bad(i), 'already decided');
  assert.equal(requests[0]?.decisions.length, MAX_REFUSED_KEPT + 5);
  assert.equal(requests[0]?.refusedOmitted, undefined);
});
