import type { Action, Step } from '../schemas/runbook';

/*
 * Where it is decided which actions may safely run twice. Plain functions with
 * no Temporal runtime, so the workflow, the activities and the docs agree on
 * one answer. An action that is not idempotent goes through the effect ledger
 * (activities/effect-ledger.ts): at most one attempt runs it blind.
 */

/** Failure type of an attempt that found an earlier attempt's start but not its end. */
export const AMBIGUOUS_OUTCOME = 'AmbiguousOutcome';

/** Failure type of an attempt that could not read or write the effect ledger (retried; never run blind). */
export const EFFECT_LEDGER_UNAVAILABLE = 'EffectLedgerUnavailable';

/** What a step does when its effect's outcome is unknown. */
export type OnAmbiguous = NonNullable<Step['on_ambiguous']>;

/** `on_ambiguous` when a step gives none. @default 'escalate' */
export const DEFAULT_ON_AMBIGUOUS: OnAmbiguous = 'escalate';

/**
 * Whether our own adapter does this action as "set state X": HAProxy server
 * states, supervisor and systemd start/stop/restart, rsync to a destination,
 * NATS notifications de-duplicated by `Nats-Msg-Id`, backups (a retry with the
 * same key finds the snapshot it took), restores into a directory, port
 * blocks (checked before added) and deletions, and every read-only kind.
 * Runbook commands and webhooks are opaque to us, so they are not.
 */
export function idempotentByConstruction(action: Action): boolean {
  switch (action.kind) {
    case 'probe':
    case 'verify':
    case 'confirm':
    case 'wait':
      return true;
    case 'command':
      return false;
    case 'isolate':
    case 'restore':
      return action.haproxy !== undefined;
    case 'start_service':
    case 'stop_service':
    case 'restart_service':
      return action.supervisor !== undefined || action.systemd !== undefined;
    case 'sync_data':
      return action.rsync !== undefined;
    case 'backup':
    case 'restore_data':
      return true;
    case 'notify':
      return action.nats !== undefined;
    // A second SIGKILL would kill the process the supervisor started since: not idempotent.
    case 'kill_process':
      return false;
    case 'block_port':
    case 'unblock_port':
    case 'delete_data':
      return true;
  }
}

/** The step's own `idempotent`, or what its action is by construction. */
export function isIdempotent(step: Pick<Step, 'idempotent' | 'action'>): boolean {
  return step.idempotent ?? idempotentByConstruction(step.action);
}

/** The step's `on_ambiguous`, or the default. */
export function onAmbiguous(step: Pick<Step, 'on_ambiguous'>): OnAmbiguous {
  return step.on_ambiguous ?? DEFAULT_ON_AMBIGUOUS;
}
