import { sleep, workflowInfo } from '@temporalio/workflow';
import { parseDuration } from '../engine/duration';
import type { ActionRequest } from '../activities/types';
import type { ActionResult, PauseState } from '../schemas/action-result';
import type { AttemptRecord } from '../schemas/incident-state';
import type { Action, Step } from '../schemas/runbook';
import { idempotentByConstruction, isIdempotent } from '../engine/effects';
import { stepProfile } from './activity-profiles';
import { effectKey, effectKeysEnabled, type EffectPurpose } from './effect-keys';
import { describeFailure, type FailureInfo } from './failure-info';

/** Outcome of a step's action after its retries. */
export type ActionOutcome = { ok: true; result: ActionResult } | { ok: false; failure: FailureInfo };

/** What runs one attempt and what it needs. */
export interface ActionCall {
  incidentId: string;
  step: Step;
  action: Action;
  dryRun: boolean;
  allowedExecutables: string[];
  epoch: number;
  now: () => string;
  /** Attempts are appended here as they finish, so queries see them live. */
  attempts: AttemptRecord[];
  /** Let the activity hold the action while remediation is paused; called each time it did. */
  onHeld?: (pause: PauseState) => void;
  /** A compensation gets its own effect key; its idempotency is its action's by construction. */
  purpose?: EffectPurpose;
  /** The first attempt may run although an earlier attempt's outcome is unknown (see ambiguous-outcome.ts). */
  rerunAmbiguous?: boolean;
}

/** The request fields that key the effect and say whether it may run twice. */
function effectFields(call: ActionCall, attempt: number): Pick<ActionRequest, 'idempotencyKey' | 'idempotent' | 'attempt' | 'rerunAmbiguous'> {
  const { step } = call;
  if (!effectKeysEnabled()) {
    // The run id keeps a later incident on the same target from looking like a repeat.
    return { idempotencyKey: `${call.incidentId}/${workflowInfo().runId}/${step.id}` };
  }
  const purpose = call.purpose ?? 'action';
  return {
    idempotencyKey: effectKey(call.incidentId, step.id, call.epoch, purpose),
    idempotent: purpose === 'compensate' ? idempotentByConstruction(call.action) : isIdempotent(step),
    attempt,
    ...(call.rerunAmbiguous && attempt === 1 ? { rerunAmbiguous: true } : {}),
  };
}

/** How long a held action waits before asking again whether remediation is still paused. */
export const PAUSE_RECHECK_MS = 5_000;

/**
 * Runs an action with the step's retry policy. The workflow drives retries
 * (one activity attempt each) so every attempt, its error and its timing are
 * in the incident state and the audit.
 */
export async function runActionWithRetry(call: ActionCall): Promise<ActionOutcome> {
  const { step } = call;
  const acts = stepProfile(step, call.action.kind);
  const retry = step.retry;
  let delay = parseDuration(retry.initial_interval);
  const maxDelay = parseDuration(retry.max_interval);
  for (let attempt = 1; ; attempt++) {
    const startedAt = call.now();
    try {
      const result = await acts.runAction({
        ...(call.onHeld ? { holdWhilePaused: true } : {}),
        incidentId: call.incidentId,
        stepId: step.id,
        action: call.action,
        dryRun: call.dryRun,
        allowedExecutables: call.allowedExecutables,
        epoch: call.epoch,
        ...effectFields(call, attempt),
      });
      if (result.held && call.onHeld) {
        // Nothing was done, so this is not an attempt: wait for the operator and ask again.
        call.onHeld(result.held);
        await sleep(PAUSE_RECHECK_MS);
        attempt -= 1;
        continue;
      }
      call.attempts.push({ attempt: call.attempts.length + 1, startedAt, finishedAt: call.now(), ok: true });
      return { ok: true, result };
    } catch (err) {
      const failure = describeFailure(err);
      call.attempts.push({ attempt: call.attempts.length + 1, startedAt, finishedAt: call.now(), ok: false, error: failure.message, errorType: failure.type });
      const permanent = failure.nonRetryable || (retry.non_retryable ?? []).includes(failure.type);
      if (permanent || attempt >= retry.max_attempts) return { ok: false, failure };
      await sleep(delay);
      delay = Math.min(maxDelay, delay * retry.backoff);
    }
  }
}
