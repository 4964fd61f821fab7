import type { RunbookSnapshot } from './incident-input';

/*
 * Input, state and decisions of the `drill` workflow (workflows/drill.ts).
 * Types only: the workflow, the CLI, the API and the schedules share them.
 */

/** Workflow type of a drill. */
export const DRILL_WORKFLOW = 'drill';

/** The step name a drill decision is signed for: a drill has one decision, not one per step. */
export const DRILL_DECISION_STEP = 'drill';

/** The step name a drill schedule's approval is signed for (its id in place of the incident's). */
export const DRILL_SCHEDULE_STEP = 'drill-schedule';

/** An approval that came with a drill schedule: the scheduled drills run without asking again. */
export interface DrillPreApproval {
  by: string;
  at: string;
  reason: string;
  channel: string;
  scheduleId: string;
  /** The approval API's signature over it (purpose decision, the schedule id, step `drill-schedule`, signed at `at`). */
  signature?: { signedAt: string; mac: string };
}

/** Input of the drill workflow. The runbook (with its `drill` and `objectives` blocks) is snapshotted here. */
export interface DrillInput {
  /** The workflow id: `drill/<service>/<target>/<runbook>/<stamp>`. */
  drillId: string;
  runbook: RunbookSnapshot;
  service: string;
  target: string;
  /** Plan every action (fault included) without side effects. */
  dryRun: boolean;
  /** Who asked for the drill, as the CLI or schedule says (not an authenticated identity: the approval is). */
  requestedBy?: string;
  preApproved?: DrillPreApproval;
  /** Base URL of the Temporal Web UI, for links in the report. */
  temporalUiUrl?: string;
}

/** Where a drill stands. */
export type DrillPhase =
  | 'awaiting_approval'
  | 'checking'
  | 'warming_up'
  | 'injecting'
  | 'detecting'
  | 'healing'
  | 'measuring'
  | 'restoring'
  | 'reporting'
  | 'done';

/** A drill decision as the approval API sends it, signed with the decision key. */
export interface DrillDecision {
  verdict: 'approve' | 'reject';
  by: string;
  channel: string;
  reason: string;
  signature?: { signedAt: string; mac: string };
}

/** What the `drillState` query answers. */
export interface DrillState {
  drillId: string;
  runbook: string;
  service: string;
  target: string;
  phase: DrillPhase;
  /** Roster groups whose members may approve, and those members when a roster is configured. */
  approvers: string[];
  members?: string[];
  approvalTimeoutAt?: string;
  approval?: { by: string; at: string; reason: string; channel: string } | { preApproved: Pick<DrillPreApproval, 'by' | 'at' | 'reason' | 'scheduleId'> };
  /** Refused decisions (outside the groups, not vouched for, too late), newest last, at most 20. */
  refusals: { by: string; at: string; reason: string; refusal: string }[];
  incident?: { incidentId: string; runId: string };
  timeline: { at: string; what: string }[];
  result?: string;
}

/** Workflow id of a drill: distinct per start, and named so the audit subject is the target's. */
export function drillIdFor(service: string, target: string, runbook: string, stamp: string): string {
  return `drill/${service}/${target}/${runbook}/${stamp}`;
}
