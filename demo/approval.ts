import type { Client } from '@temporalio/client';
import { signDecision } from '../engine/decision-signature';
import type { DecisionBase } from '../schemas/decisions';
import { approve, decide, reject } from '../workflows/messages';

/**
 * Who answers in the demo's name, and why. The demo runs its own stack and so
 * holds the decision key: it vouches for its decisions with the same signature
 * the approval API gives, or they would not count.
 */
export interface DemoDecider {
  by: string;
  reason: string;
  decisionKey: Buffer;
}

/** The request being answered. */
export interface DemoRequest {
  step: string;
  requestId?: string;
}

function signed(incidentId: string, request: DemoRequest, verdict: string, who: DemoDecider): DecisionBase {
  const base = { by: who.by, channel: 'demo', reason: who.reason, step: request.step, ...(request.requestId !== undefined ? { requestId: request.requestId } : {}) };
  return { ...base, signature: signDecision(who.decisionKey, { purpose: 'decision', incidentId, verdict, ...base }) };
}

/**
 * Approves the step an incident waits on. The one place the demo sends
 * approvals, so scenarios never build decisions themselves.
 */
export async function approveStep(client: Client, incidentId: string, request: DemoRequest, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(approve, signed(incidentId, request, 'approve', who));
}

/** Rejects the step an incident waits on (the incident then aborts, undoing what it did). */
export async function rejectStep(client: Client, incidentId: string, request: DemoRequest, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(reject, signed(incidentId, request, 'reject', who));
}

/** Answers an escalation after a failed step by aborting the incident. */
export async function abortEscalation(client: Client, incidentId: string, request: DemoRequest, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(decide, { ...signed(incidentId, request, 'abort', who), action: 'abort' });
}
