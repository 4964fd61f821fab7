import { AMBIGUOUS_OUTCOME, onAmbiguous } from '../engine/effects';
import type { Step } from '../schemas/runbook';
import { effectKeysEnabled } from './effect-keys';
import { escalate } from './escalation';
import type { StepRecord } from '../schemas/incident-state';
import type { Ending, IncidentContext } from './incident-context';
import type { ActionOutcome } from './step-retry';

/** How a step whose effect's outcome was unknown is settled: a fresh outcome, a skip, or an abort. */
export type Settled = ActionOutcome | { skipped: string } | { aborted: string };

/** Whether the action failed because an earlier attempt's outcome is unknown (the effect ledger refused to run it blind). */
export function isAmbiguous(outcome: ActionOutcome): boolean {
  return !outcome.ok && outcome.failure.type === AMBIGUOUS_OUTCOME;
}

/**
 * Applies the step's `on_ambiguous` while its outcome stays unknown: `rerun`
 * runs it again on purpose, `skip` skips it, `escalate` asks a human (retry
 * reruns, skip skips, anything else aborts). Any other outcome is returned
 * as it is, and so is every outcome of incidents older than the ledger.
 */
export async function settleAmbiguous(ctx: IncidentContext, step: Step, first: ActionOutcome, rerun: () => Promise<ActionOutcome>): Promise<Settled> {
  let outcome = first;
  while (isAmbiguous(outcome) && effectKeysEnabled()) {
    const message = outcome.ok ? '' : outcome.failure.message;
    const policy = onAmbiguous(step);
    if (policy === 'skip') return { skipped: `outcome unknown, skipped by on_ambiguous: ${message}` };
    if (policy === 'escalate') {
      const verdict = await escalate(ctx, step, `${AMBIGUOUS_OUTCOME}: ${message}`);
      if (verdict === 'skip') return { skipped: 'outcome unknown, skipped by decision' };
      if (verdict !== 'retry') return { aborted: `aborted: outcome of ${step.id} unknown` };
    }
    outcome = await rerun();
  }
  return outcome;
}

/**
 * Records a step settled without a fresh outcome: a skip lets the runbook go
 * on (resolves undefined); an abort undoes what can be undone and ends the
 * incident.
 */
export async function endAmbiguous(
  ctx: IncidentContext,
  rec: StepRecord,
  settled: { skipped: string } | { aborted: string },
  compensate: (() => Promise<void>) | undefined,
): Promise<Ending | undefined> {
  if ('skipped' in settled) {
    rec.status = 'skipped';
    rec.skipReason = settled.skipped;
    await ctx.audit.stepEnded(rec);
    return undefined;
  }
  rec.status = 'failed';
  rec.finishedAt = ctx.now();
  ctx.state.lastError = rec.lastError = `${AMBIGUOUS_OUTCOME}: outcome of ${rec.id} unknown`;
  await ctx.audit.stepEnded(rec);
  if (compensate) await compensate();
  return { status: 'aborted', outcome: settled.aborted };
}
