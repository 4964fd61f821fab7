import type { RunbookSchedule } from '../schemas/runbook-schedule';
import { drillScheduleIdFor, scheduleIdFor, type ScheduledRunInput } from '../schemas/scheduled-run';
import { contentHash } from './content-hash';
import type { LoadedRunbook } from './load-runbook';

/*
 * Edge only (hashes with node:crypto): which Temporal Schedules the runbook
 * files ask for, and what to change so that exactly those exist. Applying the
 * plan is `intake/schedules.ts`; this part is pure so it is tested alone.
 */

/** One schedule a runbook file declares: one runbook on one target. */
export interface DesiredSchedule {
  scheduleId: string;
  /** The file the runbook came from, for logs and the schedule's note. */
  source: string;
  schedule: RunbookSchedule;
  input: ScheduledRunInput;
}

/** A schedule that exists in Temporal, as far as reconciling needs to know. */
export interface ExistingSchedule {
  scheduleId: string;
  /** Made from a runbook file (its memo says so); only those are updated or deleted. */
  managed: boolean;
  /** The fingerprint in its action's input; absent when it has none. */
  fingerprint?: string | undefined;
}

/** What to do so the schedules match the runbook files. */
export interface SchedulePlan {
  create: DesiredSchedule[];
  /** Managed schedules whose runbook or schedule changed. */
  update: DesiredSchedule[];
  /** Managed schedules no runbook file declares any more. */
  remove: string[];
  /** Managed schedules already up to date. */
  unchanged: string[];
  /** Declared ids taken by a schedule made by hand: left alone, and reported. */
  conflicts: { scheduleId: string; reason: string }[];
}

/** Options that change what a scheduled run does, so they are part of its fingerprint. */
export interface DesiredOptions {
  /** The process runs every incident as a dry run (`RUNBOOK_DRY_RUN`). */
  dryRun: boolean;
  /** Task queue the runs start on. */
  taskQueue: string;
}

/** Every schedule the runbooks declare, one per runbook and target, in runbook then target order. */
export function desiredSchedules(runbooks: readonly LoadedRunbook[], options: DesiredOptions): DesiredSchedule[] {
  const out: DesiredSchedule[] = [];
  for (const loaded of runbooks) {
    const { runbook } = loaded;
    // A runbook's own schedule runs it; its drill's schedule rehearses it.
    const kinds = [
      { schedule: runbook.schedule, drill: false },
      { schedule: runbook.drill?.schedule, drill: true },
    ];
    for (const { schedule, drill } of kinds) {
      if (!schedule) continue;
      for (const { service, target } of schedule.targets) {
        const scheduleId = (drill ? drillScheduleIdFor : scheduleIdFor)(runbook.name, service, target);
        const base = {
          scheduleId,
          service,
          target,
          runbook: { name: runbook.name, version: runbook.version, hash: loaded.hash, definition: runbook },
          dryRun: options.dryRun || runbook.settings.dry_run,
          ifIncidentOpen: schedule.if_incident_open,
          ...(drill ? { drill: true } : {}),
        };
        // The runbook hash covers the schedule block; the task queue is where runs go.
        const fingerprint = contentHash({ ...base, runbook: loaded.hash, taskQueue: options.taskQueue });
        out.push({ scheduleId, source: loaded.source, schedule, input: { ...base, fingerprint } });
      }
    }
  }
  return out;
}

/**
 * The changes that make the managed schedules equal the declared ones.
 * Schedules made by hand are never touched, even when a runbook declares
 * their id (that is reported as a conflict instead).
 */
export function planSchedules(desired: readonly DesiredSchedule[], existing: readonly ExistingSchedule[]): SchedulePlan {
  const plan: SchedulePlan = { create: [], update: [], remove: [], unchanged: [], conflicts: [] };
  const byId = new Map(existing.map((e) => [e.scheduleId, e]));
  const declared = new Set<string>();
  for (const d of desired) {
    declared.add(d.scheduleId);
    const found = byId.get(d.scheduleId);
    if (!found) plan.create.push(d);
    else if (!found.managed) plan.conflicts.push({ scheduleId: d.scheduleId, reason: `schedule ${d.scheduleId} exists and was not made from a runbook file; ${d.source} does not replace it` });
    else if (found.fingerprint === d.input.fingerprint) plan.unchanged.push(d.scheduleId);
    else plan.update.push(d);
  }
  for (const e of existing) {
    if (e.managed && !declared.has(e.scheduleId)) plan.remove.push(e.scheduleId);
  }
  return plan;
}
