import { proxyActivities } from '@temporalio/workflow';
import type { ApprovalActivities, ApprovalEvent } from '../activities/notify-approvals';
import type { HumanRequest } from '../schemas/incident-state';
import type { Step } from '../schemas/runbook';
import type { IncidentContext } from './incident-context';

/*
 * Telling people about a request for a human, through every configured
 * channel (activities/notify-approvals.ts). From patch 'page-resolve' on, a
 * request is also announced when it is decided (so its page is resolved), a
 * request sent on names the one it replaces, and escalations that once
 * opened silently (an unknown outcome escalated by `on_ambiguous`) notify too.
 */

/** Notifications: quick, retried, never fatal to the incident. */
const notifyActivities = proxyActivities<ApprovalActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });

/** What every notice of one ask says besides the request itself. */
export interface NoticeTerms {
  reason: string;
  /** Named when the request names nobody. */
  approvers: readonly string[];
  timeout?: string;
  onTimeout?: string;
}

/**
 * Sends `event` about `request`. `supersedes` is the request this one
 * replaces; a decided request carries its verdict and who decided. A notice
 * that cannot be sent is dropped: the request stays visible in `runbook
 * incidents`, and a lost message must not stop the incident.
 */
export async function notifyRequest(ctx: IncidentContext, step: Step, event: ApprovalEvent, request: HumanRequest, terms: NoticeTerms, supersedes?: HumanRequest): Promise<void> {
  try {
    await notifyActivities.notifyApproval({
      event,
      incidentId: ctx.input.incidentId,
      service: ctx.state.service,
      target: ctx.state.target,
      step: step.id,
      requestId: request.requestId,
      reason: terms.reason,
      approvers: request.approvers ?? [...terms.approvers],
      members: request.eligible ?? [],
      ...(terms.timeout !== undefined ? { timeout: terms.timeout } : {}),
      ...(terms.onTimeout !== undefined ? { onTimeout: terms.onTimeout } : {}),
      type: request.type,
      ...(supersedes ? { supersedes: supersedes.requestId } : {}),
      ...(event === 'decided' ? { verdict: request.outcome ?? 'settled', decidedBy: request.decisions.filter((d) => d.accepted).map((d) => d.by) } : {}),
    });
  } catch {
    // Deliberately swallowed; see above.
  }
}

/**
 * Announces that `request` was answered (patch 'page-resolve'); incidents
 * older than paging replay without it. From 'lean-close' on the incident does
 * not wait for it: the notice's activity and the next step's are scheduled in
 * the same workflow task, instead of a task for each in turn behind every
 * other incident's work. It is awaited before the incident closes.
 */
export async function notifyDecided(ctx: IncidentContext, step: Step, request: HumanRequest, terms: NoticeTerms): Promise<void> {
  if (!ctx.flags.paged) return;
  const sent = notifyRequest(ctx, step, 'decided', request, terms);
  if (ctx.flags.leanClose()) ctx.noticesInFlight.push(sent);
  else await sent;
}

/** Waits for every notice sent while the incident went on (they never fail: see notifyRequest). */
export async function noticesSent(ctx: Pick<IncidentContext, 'noticesInFlight'>): Promise<void> {
  while (ctx.noticesInFlight.length > 0) await Promise.all(ctx.noticesInFlight.splice(0));
}
