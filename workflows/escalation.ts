import type { EscalationSettings, Step } from '../schemas/runbook';
import { escalationVerdict } from '../engine/approval-rules';
import { boundedEscalation } from './bounded-waits';
import { escalationRoster } from './escalation-roster';
import type { IncidentContext } from './incident-context';

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
  const { verdict, request } = await ctx.gate.ask(
    { type: 'escalation', step: step.id, reason: `step ${step.id} failed: ${error}`, ...asked },
    escalationVerdict,
    undefined,
    ctx.flags.audited
      ? (r) => ctx.audit.record({ event: 'escalated', requestId: r.requestId, type: 'escalation', step: r.step, reason: r.reason, approvers: r.approvers ?? [], ...(r.eligible ? { eligible: r.eligible } : {}), requestedAt: r.requestedAt })
      : undefined,
  );
  await ctx.audit.requestDecided('escalation.decided', request);
  ctx.setStatus('remediating');
  return verdict;
}
