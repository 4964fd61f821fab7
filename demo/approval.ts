import type { Client } from '@temporalio/client';
import { approve, decide, reject } from '../workflows/messages';

/** Who answers in the demo's name, and through which channel. */
export interface DemoDecider {
  by: string;
  reason: string;
}

/**
 * Approves the step an incident waits on. The one place the demo sends
 * approvals, so it can move to the approval API without touching scenarios.
 */
export async function approveStep(client: Client, incidentId: string, step: string, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(approve, { step, by: who.by, channel: 'demo', reason: who.reason });
}

/** Rejects the step an incident waits on (the incident then aborts, undoing what it did). */
export async function rejectStep(client: Client, incidentId: string, step: string, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(reject, { step, by: who.by, channel: 'demo', reason: who.reason });
}

/** Answers an escalation after a failed step by aborting the incident. */
export async function abortEscalation(client: Client, incidentId: string, step: string, who: DemoDecider): Promise<void> {
  await client.workflow.getHandle(incidentId).signal(decide, { action: 'abort', step, by: who.by, channel: 'demo', reason: who.reason });
}
