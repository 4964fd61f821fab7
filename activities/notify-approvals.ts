import type { NatsConnection } from 'nats';
import type { PagerDutySettings } from '../config/paging';
import { EMPTY_ROSTER, escalationChainAt, escalationOf, loadRosterFile, membersOf, type Roster } from '../config/roster';
import type { Logger } from '../observability/logger';
import type { RequestType } from '../schemas/decisions';
import { postWebhook } from './adapters/http-webhook';
import { pageDedupKey, sendPages, type PageDelivery, type PageEvent } from './pagerduty';

/** What the approval activities need from the worker. */
export interface ApprovalActivityDeps {
  logger: Logger;
  /** Roster file, re-read at every gate so roster edits apply to the next request without a restart. */
  rosterFile?: string | undefined;
  nats?: NatsConnection | undefined;
  /** Base URL of the console; each notice links to its incident's page there. */
  consoleUrl?: string | undefined;
  /** PagerDuty's Events API; without it nobody is paged. */
  pagerduty?: PagerDutySettings | undefined;
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

/** Moments people are told about: a request opened, sent again to more people, unanswered in the end, or answered. */
export type ApprovalEvent = 'requested' | 'escalated' | 'timed_out' | 'decided';

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
  /** What is asked; absent in notices of incidents older than paging. */
  type?: RequestType;
  /** The request this one replaces (it timed out and was sent on): its page is resolved. */
  supersedes?: string;
  /** `decided`: the verdict that took effect, and who gave the decisions that counted. */
  verdict?: string;
  decidedBy?: string[];
}

/** What a notification reached. */
export interface NoticeDelivery {
  subject?: string;
  webhooks: { url: string; ok: boolean; error?: string }[];
  /** The command an approver runs, as it appears in the message. */
  command: string;
  /** The incident's page in the console. */
  link: string;
  /** PagerDuty events sent, when paging is configured. */
  pagerduty?: PageDelivery[];
}

/** Where the console is when the worker is not told: the approval API's default address. */
export const DEFAULT_CONSOLE_URL = 'http://127.0.0.1:9120';

/** The console page of `incidentId`. */
export function incidentLink(consoleUrl: string, incidentId: string): string {
  return `${consoleUrl.replace(/\/+$/, '')}/#/incidents/${encodeURIComponent(incidentId)}`;
}

/** The exact command that approves the request (argv quoted for a POSIX shell). */
export function approveCommand(notice: Pick<ApprovalNotice, 'incidentId' | 'step'>): string {
  return ['runbook', 'approve', notice.incidentId, '--step', notice.step, '--reason', '…'].map(shellQuote).join(' ');
}

/** The exact command that answers an escalation with `action` (argv quoted for a POSIX shell). */
export function decideCommand(notice: Pick<ApprovalNotice, 'incidentId' | 'step'>, action: 'retry' | 'skip' | 'abort'): string {
  return ['runbook', 'decide', notice.incidentId, '--step', notice.step, '--action', action, '--reason', '…'].map(shellQuote).join(' ');
}

/** The commands a notice offers, labelled: approve and reject, or an escalation's retry, skip and abort. */
function answerLines(notice: ApprovalNotice): string[] {
  if (notice.type === 'escalation') return [`Retry: ${decideCommand(notice, 'retry')}`, `Skip:  ${decideCommand(notice, 'skip')}`, `Abort: ${decideCommand(notice, 'abort')}`];
  return [`Approve: ${approveCommand(notice)}`, `Reject:  ${approveCommand(notice).replace(' approve ', ' reject ')}`];
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The first line of a notice: what happened to which request. */
export function noticeHeadline(notice: ApprovalNotice): string {
  const what = notice.type === 'escalation' ? 'escalation' : 'approval';
  switch (notice.event) {
    case 'requested':
      return notice.type === 'escalation' ? `Decision needed for step ${notice.step} of ${notice.incidentId}` : `Approval needed for step ${notice.step} of ${notice.incidentId}`;
    case 'escalated':
      return `Escalated: ${what} for step ${notice.step} of ${notice.incidentId} now goes to ${notice.approvers.join(', ')}`;
    case 'timed_out':
      return `Timed out: ${what} for step ${notice.step} of ${notice.incidentId} (${notice.onTimeout ?? 'rejected'})`;
    case 'decided':
      return `Decided: ${what} for step ${notice.step} of ${notice.incidentId}: ${notice.verdict ?? 'settled'}${notice.decidedBy?.length ? ` by ${notice.decidedBy.join(', ')}` : ''}`;
  }
}

/** Message text for people, the same in every channel; `link` is the incident's console page. */
export function noticeText(notice: ApprovalNotice, link?: string): string {
  const lines = [noticeHeadline(notice), `Reason: ${notice.reason}`, `Approvers: ${notice.approvers.join(', ')}${notice.members.length > 0 ? ` (${notice.members.join(', ')})` : ''}`];
  if (notice.event === 'requested' || notice.event === 'escalated') {
    if (notice.timeout) lines.push(`Times out after ${notice.timeout}, then ${notice.onTimeout ?? 'escalate'}.`);
    lines.push(...answerLines(notice));
  }
  if (link) lines.push(`Console: ${link}`);
  return lines.join('\n');
}

/**
 * The PagerDuty events of a notice: a request that opens (or is sent on)
 * triggers its own page, after resolving the page of the request it
 * replaces; a request decided or timed out resolves its page.
 */
export function pageEvents(notice: ApprovalNotice, link: string, consoleUrl: string, text: string): { event: PageEvent; idempotencyKey: string }[] {
  const dedupKey = pageDedupKey(notice.incidentId, notice.requestId);
  const idempotencyKey = `${notice.requestId}-${notice.event}`;
  if (notice.event === 'decided' || notice.event === 'timed_out') return [{ event: { action: 'resolve', dedupKey }, idempotencyKey }];
  const events: { event: PageEvent; idempotencyKey: string }[] = [];
  if (notice.supersedes !== undefined) events.push({ event: { action: 'resolve', dedupKey: pageDedupKey(notice.incidentId, notice.supersedes) }, idempotencyKey: `${notice.supersedes}-superseded` });
  const type = notice.type ?? 'approval';
  events.push({
    event: {
      action: 'trigger',
      facts: {
        dedupKey,
        summary: `${noticeHeadline(notice)}: ${notice.reason}`,
        source: notice.target,
        severity: type === 'escalation' ? 'error' : 'warning',
        component: notice.step,
        group: notice.service,
        class: type,
        customDetails: {
          incident_id: notice.incidentId,
          request_id: notice.requestId,
          event: notice.event,
          reason: notice.reason,
          approvers: notice.approvers,
          members: notice.members,
          ...(notice.timeout !== undefined ? { timeout: notice.timeout } : {}),
          ...(notice.onTimeout !== undefined ? { on_timeout: notice.onTimeout } : {}),
          text,
        },
        link,
        consoleUrl,
      },
    },
    idempotencyKey,
  });
  return events;
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
     * Publishes `<subject>.<event>` on NATS, posts a Slack-compatible
     * payload to each configured webhook and, when paging is configured,
     * sends PagerDuty its events (see {@link pageEvents}). A webhook or page
     * that fails is reported, not retried past a few tries: the request stays
     * open and visible either way.
     */
    async notifyApproval(notice: ApprovalNotice): Promise<NoticeDelivery> {
      const r = await roster();
      const consoleUrl = deps.consoleUrl ?? DEFAULT_CONSOLE_URL;
      const link = incidentLink(consoleUrl, notice.incidentId);
      const text = noticeText(notice, link);
      const command = notice.type === 'escalation' ? decideCommand(notice, 'retry') : approveCommand(notice);
      const delivery: NoticeDelivery = { webhooks: [], command, link };
      if (deps.nats) {
        const subject = `${r.notify.subject}.${notice.event}`;
        deps.nats.publish(subject, JSON.stringify({ ...notice, text, command, link }));
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
      if (deps.pagerduty) delivery.pagerduty = await sendPages(deps.pagerduty, pageEvents(notice, link, consoleUrl, text), deps.logger);
      return delivery;
    },
  };
}

/** The approval activities as workflows see them (`import type` only). */
export type ApprovalActivities = ReturnType<typeof createApprovalActivities>;
