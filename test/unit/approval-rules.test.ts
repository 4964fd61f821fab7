import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HumanRequest } from '../../schemas/incident-state';
import { REQUEST_TYPES, type RequestType } from '../../schemas/decisions';
import {
  afterTimeout,
  APPROVAL_VERDICTS,
  approvalQuorum,
  approvalTally,
  ESCALATION_VERDICTS,
  escalationVerdict,
  REFUSAL,
  refusalFor,
  VERDICTS_FOR,
  verdictMismatch,
  type GateDecision,
} from '../../engine/approval-rules';

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

/** What each request type must accept, written out by hand so a change to the rules has to change this table too. */
const FITS: Record<RequestType, Record<string, boolean>> = {
  approval: { approve: true, reject: true, retry: false, skip: false, abort: false },
  flap: { approve: true, reject: true, retry: false, skip: false, abort: false },
  budget: { approve: true, reject: true, retry: false, skip: false, abort: false },
  escalation: { approve: false, reject: false, retry: true, skip: true, abort: true },
};
const EVERY_VERDICT = [...new Set([...APPROVAL_VERDICTS, ...ESCALATION_VERDICTS])];

test('the table covers every request type and every verdict the rules know', () => {
  assert.deepEqual(Object.keys(FITS).sort(), [...REQUEST_TYPES].sort());
  assert.deepEqual(Object.keys(VERDICTS_FOR).sort(), [...REQUEST_TYPES].sort());
  for (const type of REQUEST_TYPES) assert.deepEqual(Object.keys(FITS[type]).sort(), [...EVERY_VERDICT].sort(), type);
});

for (const type of REQUEST_TYPES) {
  for (const verdict of EVERY_VERDICT) {
    const fits = FITS[type][verdict];
    test(`a ${verdict} decision on a waiting ${type} request is ${fits ? 'accepted' : 'refused as not fitting'}`, () => {
      const open = { request: request({ type }) };
      const refusal = refusalFor(open, [open.request], decision('ann', verdict));
      if (fits) {
        assert.equal(refusal, undefined);
        assert.equal(verdictMismatch(type, verdict), undefined);
      } else {
        assert.equal(refusal?.type, REFUSAL.verdictDoesNotFit);
        assert.match(refusal?.note ?? '', new RegExp(`^verdict '${verdict}' does not answer an? ${type} request; use ${VERDICTS_FOR[type].slice(0, -1).join(', ')} or ${VERDICTS_FOR[type].at(-1)}$`));
      }
    });
  }
}

test('an unknown verdict fits no request', () => {
  for (const type of REQUEST_TYPES) assert.equal(refusalFor({ request: request({ type }) }, [], decision('ann', 'yolo'))?.type, REFUSAL.verdictDoesNotFit, type);
});

test('the refusal says in words what to send instead', () => {
  assert.equal(verdictMismatch('approval', 'abort')?.note, "verdict 'abort' does not answer an approval request; use approve or reject");
  assert.equal(verdictMismatch('escalation', 'approve')?.note, "verdict 'approve' does not answer an escalation request; use retry, skip or abort");
});

test('incidents begun before the rule keep taking any verdict on an approval', () => {
  const open = { request: request() };
  assert.equal(refusalFor(open, [open.request], decision('ann', 'abort'), { verdictMustFit: false }), undefined);
});

test('a guard override counts each approver once, like an approval', () => {
  const open = { request: request({ type: 'flap' }) };
  open.request.decisions.push({ by: 'ann', channel: 'test', reason: 'ok', at: '2024-01-01T00:00:01.000Z', verdict: 'approve', accepted: true });
  assert.equal(refusalFor(open, [open.request], decision('ann', 'approve'))?.type, REFUSAL.stale);
});
