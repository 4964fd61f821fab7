import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction, type ScheduleSpec } from '@temporalio/client';
import { parseDuration } from '../engine/duration';
import { planSchedules, type DesiredSchedule, type ExistingSchedule, type SchedulePlan } from '../engine/schedule-plan';
import type { Logger } from '../observability/logger';
import type { RunbookSchedule } from '../schemas/runbook-schedule';
import { isManaged, launcherIdFor, SCHEDULE_MANAGED_BY, SCHEDULED_RUN_WORKFLOW, type ScheduledRunInput } from '../schemas/scheduled-run';

/*
 * Temporal Schedules made from runbook files: created at start-up when
 * missing, updated when their runbook changed, deleted when no runbook file
 * declares them any more. Only schedules whose memo marks them as made from a
 * runbook file are updated or deleted; a schedule made by hand is left alone.
 * Every step tolerates another process doing the same at the same time (two
 * intakes of a cluster): a create that finds the schedule made counts as done
 * and is checked again, and a delete that finds it gone too.
 */

/** When the schedule fires, in Temporal's terms. */
export function scheduleSpec(schedule: RunbookSchedule): ScheduleSpec {
  return {
    ...(schedule.every ? { intervals: [{ every: parseDuration(schedule.every) }] } : {}),
    ...(schedule.cron ? { cronExpressions: [schedule.cron] } : {}),
    ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
    ...(schedule.jitter ? { jitter: parseDuration(schedule.jitter) } : {}),
  };
}

type ManagedOptions = ScheduleOptions<ScheduleOptionsStartWorkflowAction<(input: ScheduledRunInput) => Promise<unknown>>>;

/** The whole schedule for one declared runbook and target. */
export function scheduleOptions(d: DesiredSchedule, taskQueue: string): ManagedOptions {
  return {
    scheduleId: d.scheduleId,
    spec: scheduleSpec(d.schedule),
    action: { type: 'startWorkflow', workflowType: SCHEDULED_RUN_WORKFLOW, workflowId: launcherIdFor(d.scheduleId), taskQueue, args: [d.input] },
    policies: {
      overlap: d.schedule.overlap.toUpperCase() as Uppercase<RunbookSchedule['overlap']>,
      catchupWindow: parseDuration(d.schedule.catchup_window),
      pauseOnFailure: d.schedule.pause_on_failure,
    },
    memo: { managedBy: SCHEDULE_MANAGED_BY, runbook: d.input.runbook.name, source: d.source },
    state: { note: `from runbook file ${d.source}` },
  };
}

function fingerprintOf(args: unknown): string | undefined {
  const first = Array.isArray(args) ? (args[0] as unknown) : undefined;
  if (first === null || typeof first !== 'object') return undefined;
  const fp = (first as { fingerprint?: unknown }).fingerprint;
  return typeof fp === 'string' ? fp : undefined;
}

/** The schedules in the namespace, with the fingerprint of those made from runbook files. */
export async function existingSchedules(client: Client): Promise<ExistingSchedule[]> {
  const out: ExistingSchedule[] = [];
  for await (const s of client.schedule.list()) {
    if (!isManaged(s.memo)) {
      out.push({ scheduleId: s.scheduleId, managed: false });
      continue;
    }
    try {
      const d = await client.schedule.getHandle(s.scheduleId).describe();
      out.push({ scheduleId: s.scheduleId, managed: true, fingerprint: fingerprintOf(d.action.args) });
    } catch (err) {
      // Deleted since it was listed (by another intake, or an operator).
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return out;
}

async function updateManaged(client: Client, d: DesiredSchedule, taskQueue: string): Promise<'updated' | 'unchanged' | 'conflict'> {
  const handle = client.schedule.getHandle(d.scheduleId);
  const current = await handle.describe();
  if (!isManaged(current.memo)) return 'conflict';
  if (fingerprintOf(current.action.args) === d.input.fingerprint) return 'unchanged';
  const { scheduleId: _id, memo: _memo, state: _state, ...wanted } = scheduleOptions(d, taskQueue);
  // An operator's pause (and its note) outlives a change of the runbook file.
  await handle.update((prev) => ({ ...wanted, state: { paused: prev.state.paused, note: prev.state.paused ? prev.state.note : `from runbook file ${d.source}` } }));
  return 'updated';
}

/** What reconciling did, by schedule id. */
export interface ReconcileReport {
  created: string[];
  updated: string[];
  deleted: string[];
  unchanged: string[];
  conflicts: string[];
}

/** Makes the managed schedules match the declared ones; returns what it did. */
export async function reconcileSchedules(client: Client, desired: readonly DesiredSchedule[], opts: { taskQueue: string; logger?: Logger }): Promise<ReconcileReport> {
  const plan: SchedulePlan = planSchedules(desired, await existingSchedules(client));
  const report: ReconcileReport = { created: [], updated: [], deleted: [], unchanged: [...plan.unchanged], conflicts: [] };
  const conflict = (scheduleId: string, reason: string): void => {
    report.conflicts.push(scheduleId);
    opts.logger?.warn('schedule not reconciled', { scheduleId, reason });
  };
  for (const c of plan.conflicts) conflict(c.scheduleId, c.reason);
  for (const d of plan.create) {
    try {
      await client.schedule.create(scheduleOptions(d, opts.taskQueue));
      report.created.push(d.scheduleId);
      continue;
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
    // Made meanwhile by another process (or not yet listed): check it like an existing one.
    const outcome = await updateManaged(client, d, opts.taskQueue);
    if (outcome === 'conflict') conflict(d.scheduleId, `schedule ${d.scheduleId} exists and was not made from a runbook file`);
    else report[outcome].push(d.scheduleId);
  }
  for (const d of plan.update) {
    const outcome = await updateManaged(client, d, opts.taskQueue);
    if (outcome === 'conflict') conflict(d.scheduleId, `schedule ${d.scheduleId} exists and was not made from a runbook file`);
    else report[outcome].push(d.scheduleId);
  }
  for (const id of plan.remove) {
    try {
      await client.schedule.getHandle(id).delete();
      report.deleted.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  opts.logger?.info('schedules reconciled with the runbook files', { ...report });
  return report;
}

/** First wait after a failed reconcile; doubled after each failure up to a minute. */
const RECONCILE_RETRY_MS = 1_000;

/**
 * Reconciles, trying again with a growing delay while Temporal cannot be
 * reached, until it succeeds or `isStopping` says so. Start-up does not wait
 * for it: the intake takes faults while Temporal is away, and schedules are
 * made once it is back.
 */
export async function reconcileUntilDone(client: Client, desired: readonly DesiredSchedule[], opts: { taskQueue: string; logger: Logger; isStopping: () => boolean }): Promise<ReconcileReport | undefined> {
  let delay = RECONCILE_RETRY_MS;
  while (!opts.isStopping()) {
    try {
      return await reconcileSchedules(client, desired, opts);
    } catch (err) {
      opts.logger.warn('schedules could not be reconciled; trying again', { error: err, retryInMs: delay });
      // Unref'd: a retry never keeps a stopping intake alive.
      await new Promise((r) => setTimeout(r, delay).unref());
      delay = Math.min(delay * 2, 60_000);
    }
  }
  return undefined;
}
