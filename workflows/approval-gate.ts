import { ApplicationFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { ApprovalActivities, ApprovalEvent } from '../activities/notify-approvals';
import { notifyDecided, notifyRequest, type NoticeTerms } from './request-notices';
import { parseDuration } from '../engine/duration';
import type { RequestType } from '../schemas/decisions';
import type { HumanRequest } from '../schemas/incident-state';
import type { Approval, Step } from '../schemas/runbook';
import { afterTimeout, approvalQuorum, MAX_ESCALATION_ROUNDS } from '../engine/approval-rules';
import type { IncidentContext } from './incident-context';

/** Roster look-ups when a gate opens: quick and retried. */
const approvalActivities = proxyActivities<ApprovalActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });

/**
 * Waits for people to approve `step`: looks up who may answer, tells them,
 * and applies the approval rules (quorum, then `on_timeout`, escalating to the
 * next approvers as often as the runbook says). `type` says what is asked:
 * the step's own approval, or a guard's override. Resolves to 'approve',
 * 'reject' or 'timeout'.
 */
export async function approvalGate(ctx: IncidentContext, step: Step, approval: Approval, reason: string, type: Exclude<RequestType, 'escalation'> = 'approval'): Promise<string> {
  const { state, flags } = ctx;
  const previous = state.status;
  // Audited incidents show the status together with the request it waits on, not while approvers are being looked up.
  if (!flags.audited) ctx.setStatus('awaiting_approval');
  // Incidents whose gates opened before roster checks and notifications existed replay without them.
  const rostered = patched('approval-roster');
  let approvers = approval.approvers;
  const settle = approvalQuorum(approval.min_approvals);
  const timeoutMs = parseDuration(approval.timeout);
  const terms = (): NoticeTerms => ({ reason, approvers, timeout: approval.timeout, onTimeout: approval.on_timeout });
  const notify = (event: ApprovalEvent, request: HumanRequest, supersedes?: HumanRequest): Promise<void> => notifyRequest(ctx, step, event, request, terms(), supersedes);
  /** The request the next one replaces, once one timed out and was sent on. */
  let replaced: HumanRequest | undefined;
  for (let round = 0; ; round++) {
    const who = rostered ? await approvalActivities.resolveApprovers(approvers) : undefined;
    if (flags.audited && round === 0) ctx.setStatus('awaiting_approval');
    const { verdict, request } = await ctx.gate.ask(
      { type, step: step.id, reason, approvers, minApprovals: approval.min_approvals, ...(who?.configured ? { eligible: who.members } : {}) },
      settle,
      timeoutMs,
      rostered || flags.audited
        ? async (r) => {
            await ctx.audit.record({ event: 'approval.requested', requestId: r.requestId, type: r.type, step: r.step, reason: r.reason, approvers: r.approvers ?? [], ...(r.eligible ? { eligible: r.eligible } : {}), requestedAt: r.requestedAt });
            if (rostered) await notify(round === 0 ? 'requested' : 'escalated', r, replaced);
          }
        : undefined,
    );
    await ctx.audit.requestDecided('approval.decided', request);
    if (verdict !== 'timeout') {
      if (rostered) await notifyDecided(ctx, step, request, terms());
      ctx.setStatus(previous === 'confirming' ? 'remediating' : previous);
      return verdict;
    }
    const next = afterTimeout(approval, approvers, who);
    if ('settle' in next) {
      if (rostered) await notify('timed_out', request);
      return next.settle;
    }
    ctx.setStatus('escalated');
    approvers = next.escalateTo;
    await ctx.audit.record({ event: 'escalated', requestId: request.requestId, type, step: step.id, reason: `approval timed out; asking ${approvers.join(', ')}`, approvers, requestedAt: ctx.now() });
    if (round > MAX_ESCALATION_ROUNDS) {
      // Nobody is asked any more, so the last request's page is resolved (from 'page-resolve' on).
      if (rostered && flags.paged) await notify('timed_out', request);
      throw ApplicationFailure.nonRetryable('approval escalated too many times', 'ApprovalExhausted');
    }
    replaced = request;
  }
}
