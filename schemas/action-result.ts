/*
 * What an action reports back, shared by the activities that produce it and
 * the workflow that records it.
 */

/** The operator's pause switch as `runbook pause` set it. */
export interface PauseState {
  paused: boolean;
  by?: string;
  reason?: string;
}

/** What one action did (or, in a dry run, would do). */
export interface ActionResult {
  /** What templates and conditions read as `steps.<id>.output.*`: plain JSON, never a secret. */
  output: Record<string, unknown>;
  dryRun: boolean;
  /** Dry run only: what it would do, checked against live state where that can be read. */
  plan?: string;
  /** One human-readable line for `runbook show` and the audit trail. */
  summary: string;
  /** Set when nothing was done because remediation is paused (see `ActionRequest.holdWhilePaused`). */
  held?: PauseState;
  /** Set when an earlier attempt already did this effect and this one gave back its recorded result (see the effect ledger). */
  replayed?: boolean;
}
