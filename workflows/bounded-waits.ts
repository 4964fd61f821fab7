import { condition } from '@temporalio/workflow';
import { parseDuration } from '../engine/duration';
import { escalationVerdict } from '../engine/approval-rules';
import type { HumanRequest } from '../schemas/incident-state';
import type { EscalationSettings, Step } from '../schemas/runbook';
import type { EscalationRoster } from './escalation-roster';
import type { Ending, IncidentContext } from './incident-context';
import { notifyDecided, notifyRequest, type NoticeTerms } from './request-notices';

/** What an escalation waits for when the runbook does not say (the schema fills the same in). */
export const DEFAULT_ESCALATION: EscalationSettings = { timeout: '1h', renotify: 3, on_timeout: 'abort' };

/** Who is told about an escalation that names nobody (incidents escalating before the roster named who may decide). */
export const ESCALATION_AUDIENCE: readonly string[] = ['oncall'];

/** How long an incident without a runbook stays open after its last fault. @default 24h */
export const DEFAULT_QUIET_PERIOD = '24h';

/** The verdict an escalation ends with when nobody answered, as the runbook says. */
export type EscalationTimeout = 'timeout:abort' | 'timeout:fail';

/**
 * Asks a human what to do after `step` failed, a bounded number of times:
 * each unanswered request is followed by a new one (and a new notice), up to
 * `renotify` times, `timeout` apart; then it ends with `timeout:<on_timeout>`.
 * `notices` counts requests already sent by a previous run of the incident.
 * With `roster`, each request names who may decide it, widening with `sent`.
 */
export async function boundedEscalation(ctx: IncidentContext, step: Step, error: string, settings: EscalationSettings | undefined, onNotice: (sent: number) => void, notices = 0, roster?: EscalationRoster): Promise<string> {
  const s = settings ?? DEFAULT_ESCALATION;
  const timeoutMs = parseDuration(s.timeout);
  const reason = `step ${step.id} failed: ${error}`;
  const terms: NoticeTerms = { reason, approvers: ESCALATION_AUDIENCE, timeout: s.timeout, onTimeout: s.on_timeout };
  /** The request the next one replaces, once one went unanswered. */
  let replaced: HumanRequest | undefined;
  for (let sent = notices; ; ) {
    const asked = await roster?.asked(sent);
    ctx.setStatus('escalated');
    const { verdict, request } = await ctx.gate.ask({ type: 'escalation', step: step.id, reason, ...asked }, escalationVerdict, timeoutMs, async (r) => {
      await ctx.audit.record({ event: 'escalated', requestId: r.requestId, type: 'escalation', step: r.step, reason: r.reason, approvers: r.approvers ?? [], ...(r.eligible ? { eligible: r.eligible } : {}), requestedAt: r.requestedAt });
      await notifyRequest(ctx, step, sent === 0 ? 'requested' : 'escalated', r, terms, replaced);
      sent += 1;
      onNotice(sent);
    });
    await ctx.audit.requestDecided('escalation.decided', request);
    if (verdict !== 'timeout') {
      await notifyDecided(ctx, step, request, terms);
      return verdict;
    }
    if (sent > s.renotify) {
      await notifyRequest(ctx, step, 'timed_out', request, terms);
      return `timeout:${s.on_timeout}`;
    }
    replaced = request;
  }
}

/** The ending of an escalation that timed out, as its runbook said. */
export function escalationTimedOut(verdict: string, step: Step): Ending | undefined {
  if (verdict === 'timeout:abort') return { status: 'aborted', outcome: `escalation timed out at ${step.id}` };
  if (verdict === 'timeout:fail') return { status: 'failed', outcome: `escalation timed out at ${step.id}` };
  return undefined;
}

/**
 * Waits, without a runbook, until the monitor reports the fault resolved, or
 * until `quietPeriod` passed with no new fault (each fault starts it again):
 * then the incident closes as `unresolved_quiet`. `wake` returns true when the
 * wait must stop early for another reason (to continue as new); it is checked
 * again by the caller, which calls this again to go on waiting.
 */
export async function waitQuietly(ctx: IncidentContext, quietPeriod: string | undefined, wake: () => boolean): Promise<Ending | undefined> {
  const quietMs = parseDuration(quietPeriod ?? DEFAULT_QUIET_PERIOD);
  for (;;) {
    const seen = ctx.state.faults.count;
    const woke = await condition(() => ctx.resolvedByMonitor() || ctx.state.faults.count !== seen || wake(), quietMs);
    if (ctx.resolvedByMonitor()) return { status: 'resolved', outcome: 'recovered' };
    if (!woke) return { status: 'unresolved', outcome: 'unresolved_quiet' };
    if (wake()) return undefined;
  }
}
