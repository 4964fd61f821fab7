import type { DrillPreApproval } from './drill-input';
import type { RunbookSnapshot } from './incident-input';

/*
 * Scheduled runs: the names Temporal Schedules and their runs go by, and the
 * input a schedule starts its launcher with. Pure, so workflow code uses it.
 */

/** Memo value that marks a schedule as made from a runbook file; only those are updated or deleted at start-up. */
export const SCHEDULE_MANAGED_BY = 'runbook-files';

/** Whether a schedule's memo marks it as made from a runbook file. */
export function isManaged(memo: Record<string, unknown> | undefined): boolean {
  return memo?.managedBy === SCHEDULE_MANAGED_BY;
}

/** Workflow type a schedule starts: it opens the incident of one scheduled run. */
export const SCHEDULED_RUN_WORKFLOW = 'scheduledRun';

/** Fault kind of the synthetic fault a scheduled run starts with (`fault.kind`). */
export const SCHEDULED_FAULT_KIND = 'scheduled';

/** Schedule id for one runbook on one target: `<runbook>/<service>/<target>`. */
export function scheduleIdFor(runbook: string, service: string, target: string): string {
  return `${runbook}/${service}/${target}`;
}

/** Workflow id the schedule gives its launcher; Temporal appends `-<nominal time>` to it for each run. */
export function launcherIdFor(scheduleId: string): string {
  return `schedule/${scheduleId}`;
}

/**
 * Workflow id of the incident one scheduled run opens:
 * `incident/<service>/<target>/<runbook>-<time>`, where the time is the run's
 * nominal time in compact form (from the launcher's id). It extends the
 * fault-driven `incident/<service>/<target>` so readers find the target in the
 * same place, yet never equals it: a scheduled run never takes the one
 * incident slot a fault for the target needs.
 */
export function scheduledIncidentId(input: Pick<ScheduledRunInput, 'scheduleId' | 'service' | 'target' | 'runbook'>, launcherWorkflowId: string, fallback: string): string {
  const prefix = `${launcherIdFor(input.scheduleId)}-`;
  const when = launcherWorkflowId.startsWith(prefix) ? launcherWorkflowId.slice(prefix.length).replace(/[^0-9A-Za-z]/g, '') : '';
  return `incident/${input.service}/${input.target}/${input.runbook.name}-${when || fallback}`;
}

/** The input a schedule starts its launcher with; fixed until the runbook file changes. */
export interface ScheduledRunInput {
  scheduleId: string;
  service: string;
  target: string;
  runbook: RunbookSnapshot;
  dryRun: boolean;
  ifIncidentOpen: 'skip' | 'run';
  /** A drill schedule (the runbook's `drill.schedule`): each run starts a drill instead of an incident. */
  drill?: boolean;
  /** Digest of everything above: equal digests mean the schedule is up to date with its runbook file. */
  fingerprint: string;
  /**
   * Set on a drill schedule once a member of the drill's approver groups
   * approved it (`runbook drill approve-schedule`); its drills then run
   * without asking again. Not in the fingerprint: a changed runbook file
   * rewrites the input, and so asks for approval anew.
   */
  preApproved?: DrillPreApproval;
}

/** Schedule id of a runbook's drill on one target: `<runbook>/<service>/<target>/drill`. */
export function drillScheduleIdFor(runbook: string, service: string, target: string): string {
  return `${scheduleIdFor(runbook, service, target)}/drill`;
}

/** What a launcher reports: the incident it ran, or why it ran none. */
export type ScheduledRunResult =
  | { ran: true; incidentId: string; status: string; outcome?: string | undefined }
  | { ran: false; skipped: string }
  | { ran: true; drillId: string; result: string };
