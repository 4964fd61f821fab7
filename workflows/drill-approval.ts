import { ApplicationFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ApprovalActivities } from '../activities/notify-approvals';
import { REFUSAL } from '../engine/approval-rules';
import { parseDuration } from '../engine/duration';
import { DRILL_DECISION_STEP, type DrillDecision, type DrillState } from '../schemas/drill-input';
import type { DrillSpec } from '../schemas/runbook';
import { decideDrill } from './messages';

const approvals = proxyActivities<ApprovalActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });
const verify = proxyActivities<Pick<Activities, 'verifyDecision'>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });

/** How the wait for a drill's approval ended. */
export type DrillApprovalOutcome = { verdict: 'approve' | 'reject'; by: string; reason: string; channel: string; at: string } | { verdict: 'timed_out' };

/**
 * Waits, at most `approval_timeout`, for a member of the drill's approver
 * groups to approve or reject it through the approval API. Approving a drill
 * is its own permission: the groups are the drill's, not the incident
 * approvers'. A decision counts only once its signature is verified.
 */
export async function awaitDrillApproval(state: DrillState, spec: DrillSpec, now: () => string): Promise<DrillApprovalOutcome> {
  const who = await approvals.resolveApprovers(spec.approvers);
  if (who.configured) state.members = who.members;
  const timeoutMs = parseDuration(spec.approval_timeout);
  state.approvalTimeoutAt = new Date(Date.parse(now()) + timeoutMs).toISOString();
  let decided: Extract<DrillApprovalOutcome, { by: string }> | undefined;
  const refuse = (d: DrillDecision, refusal: string, reason: string): void => {
    state.refusals.push({ by: d.by, at: now(), reason, refusal });
    if (state.refusals.length > 20) state.refusals.shift();
  };
  setHandler(
    decideDrill,
    async (d) => {
      const { vouched } = await verify.verifyDecision({ purpose: 'decision', incidentId: state.drillId, step: DRILL_DECISION_STEP, verdict: d.verdict, by: d.by, channel: d.channel, reason: d.reason, ...(d.signature ? { signature: d.signature } : {}) });
      if (!vouched) {
        refuse(d, REFUSAL.notVouched, 'decision signature invalid: not vouched for by the approval API');
        throw ApplicationFailure.create({ type: REFUSAL.notVouched, message: 'decision signature invalid: not vouched for by the approval API', nonRetryable: true });
      }
      if (decided || state.phase !== 'awaiting_approval') throw ApplicationFailure.create({ type: REFUSAL.stale, message: 'stale: this drill is no longer waiting for approval', nonRetryable: true });
      decided = { verdict: d.verdict, by: d.by, reason: d.reason, channel: d.channel, at: now() };
      return { accepted: true, verdict: d.verdict };
    },
    {
      validator: (d) => {
        if (decided || state.phase !== 'awaiting_approval') throw ApplicationFailure.create({ type: REFUSAL.stale, message: 'stale: this drill is no longer waiting for approval' });
        if (d.verdict !== 'approve' && d.verdict !== 'reject') throw ApplicationFailure.create({ type: REFUSAL.verdictDoesNotFit, message: 'a drill is approved or rejected' });
        if (state.members && !state.members.includes(d.by)) {
          throw ApplicationFailure.create({ type: REFUSAL.notApprover, message: `${d.by} is not in the drill approver groups (${spec.approvers.join(', ')})` });
        }
      },
    },
  );
  const answered = await condition(() => decided !== undefined, timeoutMs);
  return answered && decided ? decided : { verdict: 'timed_out' };
}
