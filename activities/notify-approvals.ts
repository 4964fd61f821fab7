import type { NatsConnection } from 'nats';
import { EMPTY_ROSTER, escalationChainAt, escalationOf, loadRosterFile, membersOf, type Roster } from '../config/roster';
import type { Logger } from '../observability/logger';
import { postWebhook } from './adapters/http-webhook';

/** What the approval activities need from the worker. */
export interface ApprovalActivityDeps {
  logger: Logger;
  /** Roster file, re-read at every gate so roster edits apply to the next request without a restart. */
  rosterFile?: string | undefined;
  nats?: NatsConnection | undefined;
}

/** Who may answer a request for `groups`, and whom it escalates to. */
export interface ApproverSet {
  /** False when no roster is configured: membership is then not checked. */
  configured: boolean;
  members: string[];
  /** The roster's escalation chain after `groups`. */
  escalateTo: string[];
}

/** Who one request of an escalation asks. */
export interface EscalationAudience {
  /** False when no roster is configured: membership is then not checked. */
  configured: boolean;
  /** The groups asked: the escalation's own, widened along the roster's chain for later requests. */
  approvers: string[];
  /** Members of `approvers`. */
  members: string[];
}

/** Moments people are told about. */
export type ApprovalEvent = 'requested' | 'escalated' | 'timed_out';

/** One approval notification. */
export interface ApprovalNotice {
  event: ApprovalEvent;
  incidentId: string;
  service: string;
  target: string;
  step: string;
  requestId: string;
  reason: string;
  approvers: string[];
  members: string[];
  timeout?: string;
  /** What happens (or happened) on timeout. */
  onTimeout?: string;
}

/** What a notification reached. */
export interface NoticeDelivery {
  subject?: string;
  webhooks: { url: string; ok: boolean; error?: string }[];
  /** The command an approver runs, as it appears in the message. */
  command: string;
}

/** The exact command that approves the request (argv quoted for a POSIX shell). */
export function approveCommand(notice: Pick<ApprovalNotice, 'incidentId' | 'step'>): string {
  return ['runbook', 'approve', notice.incidentId, '--step', notice.step, '--reason', '…'].map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Message text for people, the same in every channel. */
export function noticeText(notice: ApprovalNotice): string {
  const head =
    notice.event === 'requested'
      ? `Approval needed for step ${notice.step} of ${notice.incidentId}`
      : notice.event === 'escalated'
        ? `Escalated: approval for step ${notice.step} of ${notice.incidentId} now goes to ${notice.approvers.join(', ')}`
        : `Timed out: approval for step ${notice.step} of ${notice.incidentId} (${notice.onTimeout ?? 'rejected'})`;
  const lines = [head, `Reason: ${notice.reason}`, `Approvers: ${notice.approvers.join(', ')}${notice.members.length > 0 ? ` (${notice.members.join(', ')})` : ''}`];
  if (notice.event !== 'timed_out') {
    if (notice.timeout) lines.push(`Times out after ${notice.timeout}, then ${notice.onTimeout ?? 'escalate'}.`);
    lines.push(`Approve: ${approveCommand(notice)}`, `Reject:  ${approveCommand(notice).replace(' approve ', ' reject ')}`);
  }
  return lines.join('\n');
}

/** Builds the approval activities: roster look-ups and notifications. */
export function createApprovalActivities(deps: ApprovalActivityDeps) {
  const roster = async (): Promise<Roster> => (deps.rosterFile ? loadRosterFile(deps.rosterFile) : EMPTY_ROSTER);
  return {
    /** Members of `groups` and the roster's escalation chain, read when a gate opens. */
    async resolveApprovers(groups: string[]): Promise<ApproverSet> {
      const r = await roster();
      return { configured: deps.rosterFile !== undefined, members: membersOf(r, groups), escalateTo: escalationOf(r, groups) };
    },

    /** Who the `round`-th request (0 = the first) of an escalation that asks `groups` goes to, read when it opens. */
    async resolveEscalation(req: { groups: string[]; round: number }): Promise<EscalationAudience> {
      const r = await roster();
      const approvers = escalationChainAt(r, req.groups, req.round);
      return { configured: deps.rosterFile !== undefined, approvers, members: membersOf(r, approvers) };
    },

    /**
     * Publishes `<subject>.<event>` on NATS and posts a Slack-compatible
     * payload to each configured webhook. A webhook that fails is reported,
     * not retried: the request stays open and visible either way.
     */
    async notifyApproval(notice: ApprovalNotice): Promise<NoticeDelivery> {
      const r = await roster();
      const text = noticeText(notice);
      const command = approveCommand(notice);
      const delivery: NoticeDelivery = { webhooks: [], command };
      if (deps.nats) {
        const subject = `${r.notify.subject}.${notice.event}`;
        deps.nats.publish(subject, JSON.stringify({ ...notice, text, command }));
        await deps.nats.flush();
        delivery.subject = subject;
      }
      for (const url of r.notify.webhooks) {
        try {
          await postWebhook({ url, body: { text }, timeoutMs: 5_000, idempotencyKey: `${notice.requestId}-${notice.event}`, dryRun: false });
          delivery.webhooks.push({ url, ok: true });
        } catch (err) {
          deps.logger.warn('approval webhook failed', { url, error: (err as Error).message });
          delivery.webhooks.push({ url, ok: false, error: (err as Error).message });
        }
      }
      return delivery;
    },
  };
}

/** The approval activities as workflows see them (`import type` only). */
export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;
