import type { Step } from '../schemas/runbook';
import { escalationVerdict } from '../engine/approval-rules';
import type { IncidentContext } from './incident-context';

/**
 * Asks a human what to do after `step` finally failed: retry it, skip it, or
 * abort the incident. Waits as long as it takes; resolves to the verdict.
 */
export async function escalate(ctx: IncidentContext, step: Step, error: string): Promise<string> {
  ctx.setStatus('escalated');
  const { verdict, request } = await ctx.gate.ask(
    { type: 'escalation', step: step.id, reason: `step ${step.id} failed: ${error}` },
    escalationVerdict,
    undefined,
    ctx.flags.audited
      ? (r) => ctx.audit.record({ event: 'escalated', requestId: r.requestId, type: 'escalation', step: r.step, reason: r.reason, approvers: r.approvers ?? [], requestedAt: r.requestedAt })
      : undefined,
  );
  await ctx.audit.requestDecided('escalation.decided', request);
  ctx.setStatus('remediating');
  return verdict;
}
