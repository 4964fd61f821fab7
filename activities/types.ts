import type { ActionResult, PauseState } from '../schemas/action-result';
import type { Action, ProbeTarget } from '../schemas/runbook';

export type { ActionResult, PauseState };

/**
 * Inputs and outputs of the incident activities. Workflows import this file
 * for types only, so it holds nothing that runs.
 */

/** One runbook action to perform, with its templates already resolved by the workflow. */
export interface ActionRequest {
  /** Workflow id of the incident, e.g. `incident/app/primary`. */
  incidentId: string;
  stepId: string;
  action: Action;
  dryRun: boolean;
  /** The runbook's `settings.allowed_executables`; empty means no command may run. */
  allowedExecutables: string[];
  /** Isolation token from the isolating step; sent along so receivers can refuse stale requests. */
  epoch?: number;
  /** Deadline for the action's own work; by default a little less than the activity's start-to-close timeout. */
  timeoutMs?: number;
  /** Key receivers de-duplicate on; `${incidentId}/${stepId}` when absent. */
  idempotencyKey?: string;
  /**
   * `false` puts the action under the effect ledger, keyed by `idempotencyKey`:
   * it runs at most once unless an attempt knew it failed. Absent (requests of
   * incidents older than the ledger) or `true`: run as asked.
   */
  idempotent?: boolean;
  /** The workflow's attempt number, recorded in the ledger. */
  attempt?: number;
  /** Run a non-idempotent action even though an earlier attempt's start is recorded without its end. */
  rerunAmbiguous?: boolean;
  /**
   * Read the operator's pause switch first and, when remediation is paused, do
   * nothing and report `held`: the check and the action share one round trip.
   */
  holdWhilePaused?: boolean;
}

/** One health check. */
export interface ProbeRequest {
  target: ProbeTarget;
  timeoutMs: number;
  allowedExecutables: string[];
}

/** Outcome of one health check; an unhealthy target is `ok: false`, never an error. */
export interface ProbeOutcome {
  ok: boolean;
  latency_ms: number;
  detail: string;
  /** HTTP status, for HTTP probes that got an answer. */
  status?: number;
  /** Exit code, for command probes whose program ran to completion. */
  exit_code?: number;
  /** Regular files counted, for data probes (counting stops at `min_files`). */
  files?: number;
}
