import { patched, workflowInfo } from '@temporalio/workflow';

/**
 * Whether this incident gives its actions stable effect keys and puts
 * non-idempotent ones under the effect ledger. Incidents that recorded
 * actions before it replay with the old run-scoped key and no ledger.
 * Read where actions start (the SDK remembers the answer for the run).
 */
export function effectKeysEnabled(): boolean {
  return patched('effect-keys');
}

/** Whether the key is for a step's action or for its compensation. */
export type EffectPurpose = 'action' | 'compensate';

/**
 * The idempotency key of one effect: the same on every attempt, across
 * continue-as-new (the first run id), and distinct per step, fencing epoch
 * and purpose, so a compensation never finds its step's record.
 */
export function effectKey(incidentId: string, stepId: string, epoch: number, purpose: EffectPurpose = 'action'): string {
  const base = `${incidentId}/${workflowInfo().firstExecutionRunId}/${stepId}/e${epoch}`;
  return purpose === 'compensate' ? `${base}/undo` : base;
}
