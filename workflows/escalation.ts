import type { EscalationSettings, Step } from '../schemas/runbook';
import { escalationVerdict } from '../engine/approval-rules';
import { boundedEscalation, ESCALATION_AUDIENCE } from './bounded-waits';
import { escalationRoster } from './escalation-roster';
import type { IncidentContext } from './incident-context';
import { notifyDecided, notifyRequest, type NoticeTerms } from './request-notices';

/** How a bounded escalation is asked: the runbook's settings and the notices a previous run already sent. */
export interface EscalationBounds {
  settings: EscalationSettings | undefined;
  notices: number;
  onNotice(sent: number): void;
}

/**
 * Asks a human what to do after `step` finally failed: retry it, skip it, or
 * abort the incident; who may answer comes from the roster (escalation-roster.ts).
 * With `bounds` (incidents started with `bounded-waits`)
 * it asks again a bounded number of times and then resolves to
 * `timeout:<on_timeout>`; older incidents wait as long as it takes.
 */
export async function escalate(ctx: IncidentContext, step: Step, error: string, bounds?: EscalationBounds): Promise<string> {
  const roster = escalationRoster(bounds?.settings ?? ctx.input.runbook?.definition.settings.escalation);
  // With a roster the status changes together with the request it waits on, not while the roster is read.
  if (!roster) ctx.setStatus('escalated');
  if (bounds) {
    const verdict = await boundedEscalation(ctx, step, error, bounds.settings, bounds.onNotice, bounds.notices, roster);
    ctx.setStatus('remediating');
    return verdict;
  }
  const asked = await roster?.asked(0);
  ctx.setStatus('escalated');
  const { audited, paged } = ctx.flags;
  const terms: NoticeTerms = { reason: `step ${step.id} failed: ${error}`, approvers: ESCALATION_AUDIENCE };
  const { verdict, request } = await ctx.gate.ask(
    { type: 'escalation', step: step.id, reason: terms.reason, ...asked },
    escalationVerdict,
    undefined,
    audited || paged
      ? async (r) => {
          if (audited) await ctx.audit.record({ event: 'escalated', requestId: r.requestId, type: 'escalation', step: r.step, reason: r.reason, approvers: r.approvers ?? [], ...(r.eligible ? { eligible: r.eligible } : {}), requestedAt: r.requestedAt });
          // Before 'page-resolve' an escalation without bounds (an unknown outcome) opened without telling anyone.
          if (paged) await notifyRequest(ctx, step, 'requested', r, terms);
        }
      : undefined,
  );
  await ctx.audit.requestDecided('escalation.decided', request);
  await notifyDecided(ctx, step, request, terms);
  ctx.setStatus('remediating');
  return verdict;
}
