import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HumanRequest } from '../../schemas/incident-state';
import { afterTimeout, approvalQuorum, approvalTally, escalationVerdict, REFUSAL, refusalFor, type GateDecision } from '../../engine/approval-rules';

const decision = (by: string, verdict: string, step = 'isolate'): GateDecision => ({ by, verdict, step, channel: 'test', reason: 'because' });

function request(over: Partial<HumanRequest> = {}): HumanRequest {
  return { requestId: 'r1', type: 'approval', step: 'isolate', reason: 'needs approval', requestedAt: '2024-01-01T00:00:00.000Z', decisions: [], ...over };
}

test('an approval settles once enough distinct people approved, and a rejection settles it at once', () => {
  const settle = approvalQuorum(2);
  assert.equal(settle(decision('ann', 'approve')), undefined);
  assert.equal(settle(decision('ann', 'approve')), undefined, 'the same person twice counts once');
  assert.equal(settle(decision('bob', 'approve')), 'approve');
  assert.equal(approvalQuorum(3)(decision('ann', 'reject')), 'reject');
});

test('an escalation takes retry, skip or abort and nothing else', () => {
  for (const verdict of ['retry', 'skip', 'abort']) assert.equal(escalationVerdict(decision('ann', verdict)), verdict);
  assert.equal(escalationVerdict(decision('ann', 'approve')), undefined);
});

test('a timeout approves, times out, or escalates to the runbook, the roster, or the same approvers', () => {
  assert.deepEqual(afterTimeout({ on_timeout: 'approve' }, ['ops'], undefined), { settle: 'approve' });
  assert.deepEqual(afterTimeout({ on_timeout: 'reject' }, ['ops'], { escalateTo: ['leads'] }), { settle: 'timeout' });
  assert.deepEqual(afterTimeout({ on_timeout: 'escalate', escalate_to: ['cto'] }, ['ops'], { escalateTo: ['leads'] }), { escalateTo: ['cto'] });
  assert.deepEqual(afterTimeout({ on_timeout: 'escalate' }, ['ops'], { escalateTo: ['leads'] }), { escalateTo: ['leads'] });
  assert.deepEqual(afterTimeout({ on_timeout: 'escalate' }, ['ops'], { escalateTo: [] }), { escalateTo: ['ops'] });
});

test('only eligible approvers may decide, once each, on the request that is waiting', () => {
  const open = { request: request({ approvers: ['ops'], eligible: ['ann', 'bob'] }) };
  assert.equal(refusalFor(open, [open.request], decision('ann', 'approve')), undefined);
  assert.equal(refusalFor(open, [open.request], decision('eve', 'approve'))?.type, REFUSAL.notApprover);
  assert.equal(refusalFor(open, [open.request], decision('ann', 'approve', 'restart'))?.type, REFUSAL.unknownStep);
  assert.equal(refusalFor(open, [open.request], { ...decision('ann', 'approve'), requestId: 'r0' })?.type, REFUSAL.stale);
  open.request.decisions.push({ by: 'ann', channel: 'test', reason: 'ok', at: '2024-01-01T00:00:01.000Z', verdict: 'approve', accepted: true });
  assert.equal(refusalFor(open, [open.request], decision('ann', 'approve'))?.type, REFUSAL.stale);
  assert.deepEqual(approvalTally(open.request), { approvals: 1, needed: 1 });
  assert.equal(refusalFor(undefined, [], decision('ann', 'approve'))?.note, 'stale: no request is waiting');
});
