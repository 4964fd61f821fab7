import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFencing, fenceReason } from '../../engine/fencing';
import { Runbook, type RunbookInput } from '../../schemas/runbook';

type StepInput = RunbookInput['steps'][number];

const haproxy = { socket: '/run/haproxy.sock', backend: 'app', server: 'primary' };
const isolate: StepInput = { id: 'isolate', action: { kind: 'isolate', haproxy }, isolation: 'provides', approval: false };
const sync: StepInput = { id: 'sync', action: { kind: 'sync_data', rsync: { source: '/a/', destination: '/b/' } } };
const startStandby: StepInput = { id: 'start', action: { kind: 'start_service', supervisor: { service: 'standby' } } };

function runbook(steps: StepInput[]): Runbook {
  return Runbook.parse({ name: 'fencing', version: 1, match: { kinds: ['node_down'] }, steps });
}

describe('fencing rule', () => {
  test('a sync after a verified isolation step passes', () => {
    assert.deepEqual(checkFencing(runbook([isolate, sync])), []);
  });

  test('a sync with no isolation before it is rejected at the step', () => {
    const issues = checkFencing(runbook([sync]));
    assert.equal(issues.length, 1);
    assert.deepEqual(issues[0]?.path, ['steps', 0]);
    assert.match(issues[0]?.message ?? '', /"sync" syncs data/);
  });

  test('a sync before the isolation step is rejected', () => {
    assert.equal(checkFencing(runbook([sync, isolate])).length, 1);
  });

  test('an unfenced sync is accepted when it says unfenced: true', () => {
    assert.deepEqual(checkFencing(runbook([{ ...sync, unfenced: true }])), []);
  });

  test('an isolate step without isolation: provides does not fence', () => {
    const plain: StepInput = { id: 'isolate', action: { kind: 'isolate', haproxy }, approval: false };
    assert.equal(checkFencing(runbook([plain, sync])).length, 1);
  });

  test('a conditional or failure-tolerant isolation step does not fence, and says why', () => {
    const conditional = checkFencing(runbook([{ ...isolate, when: { equals: ['fault.severity', 'critical'] } }, sync]));
    assert.deepEqual(conditional.map((i) => i.path), [['steps', 0, 'when'], ['steps', 1]]);
    const tolerant = checkFencing(runbook([{ ...isolate, on_failure: 'continue' }, sync]));
    assert.deepEqual(tolerant.map((i) => i.path), [['steps', 0, 'on_failure'], ['steps', 1]]);
  });

  test('an haproxy isolation that skips the read-back does not fence', () => {
    const unverified: StepInput = { ...isolate, action: { kind: 'isolate', haproxy: { ...haproxy, verify: false } } };
    assert.deepEqual(checkFencing(runbook([unverified, sync])).map((i) => i.path), [
      ['steps', 0, 'action', 'haproxy', 'verify'],
      ['steps', 1],
    ]);
  });

  test('a promoted standby needs a fence; a plain start with no isolation before it does not', () => {
    const promote: StepInput = {
      id: 'promote',
      action: { kind: 'start_service', supervisor: { service: 'standby' }, promote: true },
      approval: false,
    };
    assert.equal(checkFencing(runbook([promote])).length, 1);
    assert.deepEqual(checkFencing(runbook([isolate, promote])), []);
    assert.deepEqual(checkFencing(runbook([startStandby])), []);
  });

  test('a start after an unfenced isolate counts as a promotion', () => {
    const plainIsolate: StepInput = { id: 'isolate', action: { kind: 'isolate', haproxy }, approval: false };
    const rb = runbook([plainIsolate, startStandby]);
    assert.match(fenceReason(rb.steps, 1) ?? '', /after an isolate step/);
    assert.equal(checkFencing(rb).length, 1);
  });

  test('unfenced: true on a step the rule does not cover is rejected as a mistake', () => {
    const wait: StepInput = { id: 'wait', action: { kind: 'wait', duration: '1s' }, unfenced: true };
    assert.deepEqual(checkFencing(runbook([wait])).map((i) => i.path), [['steps', 0, 'unfenced']]);
  });
});
