import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConditionError, evaluateCondition } from '../../engine/conditions';
import type { TemplateContext } from '../../engine/template';
import type { Condition } from '../../schemas/runbook';

const ctx: TemplateContext = {
  fault: { service: 'app', target: 'primary', kind: 'node_down', severity: 'critical', labels: { zone: 'a' } },
  params: { mode: 'auto', port: 8080 },
  steps: { confirm: { output: { confirmed: true, failures: 3, note: null } } },
  incident: { id: 'inc-1', epoch: 1 },
};

const check = (cond: Condition): boolean => evaluateCondition(cond, ctx);

describe('when conditions', () => {
  test('equals and not_equals compare strictly', () => {
    assert.equal(check({ equals: ['fault.severity', 'critical'] }), true);
    assert.equal(check({ equals: ['steps.confirm.output.confirmed', true] }), true);
    assert.equal(check({ equals: ['steps.confirm.output.confirmed', 'true'] }), false);
    assert.equal(check({ equals: ['params.port', 8080] }), true);
    assert.equal(check({ not_equals: ['fault.severity', 'warning'] }), true);
    assert.equal(check({ not_equals: ['fault.severity', 'critical'] }), false);
  });

  test('a missing reference equals nothing', () => {
    assert.equal(check({ equals: ['steps.skipped.output.ok', true] }), false);
    assert.equal(check({ equals: ['fault.missing', null] }), false);
    assert.equal(check({ not_equals: ['steps.skipped.output.ok', true] }), true);
    assert.equal(check({ in: ['steps.skipped.output.ok', [true, false, null]] }), false);
  });

  test('in checks membership', () => {
    assert.equal(check({ in: ['fault.severity', ['critical', 'major']] }), true);
    assert.equal(check({ in: ['fault.severity', ['minor']] }), false);
  });

  test('exists is true only for present, non-null values', () => {
    assert.equal(check({ exists: 'fault.labels.zone' }), true);
    assert.equal(check({ exists: 'fault.labels.region' }), false);
    assert.equal(check({ exists: 'steps.confirm.output.note' }), false);
    assert.equal(check({ exists: 'fault.constructor' }), false);
  });

  test('all, any and not combine conditions', () => {
    const critical: Condition = { equals: ['fault.severity', 'critical'] };
    const warning: Condition = { equals: ['fault.severity', 'warning'] };
    assert.equal(check({ all: [critical, { exists: 'fault.target' }] }), true);
    assert.equal(check({ all: [critical, warning] }), false);
    assert.equal(check({ any: [warning, critical] }), true);
    assert.equal(check({ any: [warning] }), false);
    assert.equal(check({ not: warning }), true);
    assert.equal(check({ not: { any: [warning, { not: critical }] } }), true);
  });

  test('an object without exactly one operator is a ConditionError', () => {
    assert.throws(() => check({}), ConditionError);
    assert.throws(() => check({ exists: 'fault.kind', equals: ['fault.kind', 'x'] }), ConditionError);
  });
});
