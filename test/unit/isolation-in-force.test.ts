import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFencing, dependsOnIsolation } from '../../engine/fencing';
import { Runbook, type RunbookInput } from '../../schemas/runbook';
import { IsolationsInForce } from '../../workflows/isolation-in-force';

type StepInput = RunbookInput['steps'][number];

const isolate: StepInput = { id: 'isolate', action: { kind: 'isolate', command: { argv: ['true'] } }, isolation: 'provides', approval: false };
const sync: StepInput = { id: 'sync', action: { kind: 'sync_data', rsync: { source: '/a/', destination: '/b/' } } };
const fencedCommand: StepInput = { id: 'switch', action: { kind: 'command', argv: ['true'] }, isolation: 'requires' };
const plain: StepInput = { id: 'note', action: { kind: 'command', argv: ['true'] } };

const steps = (list: StepInput[]): Runbook['steps'] => Runbook.parse({ name: 'fenced', version: 1, match: { kinds: ['node_down'] }, steps: list }).steps;

test('sync, promote and isolation: requires steps depend on isolation; unfenced and plain steps do not', () => {
  const s = steps([isolate, sync, fencedCommand, plain, { ...sync, id: 'copy', unfenced: true }]);
  assert.deepEqual(s.map((_, i) => dependsOnIsolation(s, i)), [false, true, true, false, false]);
});

test('isolation: requires needs an earlier fence and cannot be unfenced', () => {
  assert.equal(checkFencing({ steps: steps([fencedCommand]) }).length, 1);
  assert.deepEqual(checkFencing({ steps: steps([isolate, fencedCommand]) }), []);
  assert.match(checkFencing({ steps: steps([isolate, { ...fencedCommand, unfenced: true }]) })[0]?.message ?? '', /cannot both require isolation and be unfenced/);
});

test('a dependent step may start while the isolation is in force, and never once it was compensated', () => {
  const s = steps([isolate, fencedCommand, plain]);
  const held = new IsolationsInForce();
  assert.match(held.refusal(s, 1) ?? '', /requires the isolation of isolate, which was never established/);
  held.established('isolate');
  assert.equal(held.refusal(s, 1), undefined);
  held.withdrawn('isolate');
  assert.equal(held.refusal(s, 1), 'isolation not in force: switch requires the isolation of isolate, which was compensated');
  assert.equal(held.refusal(s, 2), undefined, 'a step that does not depend on isolation is never refused');
  held.established('isolate');
  assert.equal(held.refusal(s, 1), undefined, 'isolating again puts it back in force');
});

test('a run continued as new knows which isolations are still in force from the carried records', () => {
  const s = steps([isolate, fencedCommand, plain]);
  const carriedOver = new IsolationsInForce();
  carriedOver.resume(s, [{ id: 'isolate', status: 'succeeded' }, { id: 'switch', status: 'pending' }], []);
  assert.equal(carriedOver.refusal(s, 1), undefined, 'a succeeded isolation carried over is in force');

  const compensated = new IsolationsInForce();
  compensated.resume(s, [{ id: 'isolate', status: 'succeeded' }], [{ forStep: 'isolate' }]);
  assert.match(compensated.refusal(s, 1) ?? '', /which was compensated/, 'a compensation tried before the switch withdraws it, even when it failed');

  const never = new IsolationsInForce();
  never.resume(s, [{ id: 'isolate', status: 'failed' }], []);
  assert.match(never.refusal(s, 1) ?? '', /which was never established/);
});
