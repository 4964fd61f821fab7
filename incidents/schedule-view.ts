import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import type { RunbookSchedule } from '../schemas/runbook-schedule';
import { isManaged, scheduledIncidentId, type ScheduledRunInput } from '../schemas/scheduled-run';

/*
 * The read model of Temporal Schedules that run runbooks: what
 * `runbook schedule list|show` prints and the API's GET /schedules answers.
 */

/** One schedule as `show` prints it. */
export interface ScheduleView {
  scheduleId: string;
  /** `runbook-file` when made from a runbook file (reconciled at start-up), else `manual`. */
  origin: 'runbook-file' | 'manual';
  source?: string | undefined;
  runbook?: string | undefined;
  service?: string | undefined;
  target?: string | undefined;
  when: string;
  overlap: string;
  catchupWindowMs: number;
  jitter?: string | undefined;
  paused: boolean;
  note?: string | undefined;
  runsTaken: number;
  nextRuns: string[];
  /** Runs started lately, newest last, with the incident each opened (skipped runs open none). */
  recentRuns: { scheduledAt: string; takenAt: string; launcherId: string; incidentId?: string | undefined; result?: string | undefined }[];
  running: string[];
}

function runInput(d: ScheduleDescription): ScheduledRunInput | undefined {
  if (!isManaged(d.memo)) return undefined;
  const first: unknown = d.action.args?.[0];
  return first !== null && typeof first === 'object' && 'scheduleId' in first ? (first as ScheduledRunInput) : undefined;
}

/** `every 1h`, `cron 0 * * * *`, or Temporal's own spec for a schedule made by hand. */
function whenText(schedule: RunbookSchedule | undefined, d: ScheduleDescription): string {
  if (schedule?.every) return `every ${schedule.every}`;
  if (schedule?.cron) return `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : ''}`;
  const intervals = (d.spec.intervals ?? []).map((i) => `every ${String(i.every)}`);
  return intervals.length > 0 ? intervals.join(', ') : d.spec.calendars?.length ? 'calendar' : '-';
}

/** The plain view of a described schedule. */
export function scheduleView(d: ScheduleDescription): ScheduleView {
  const input = runInput(d);
  const schedule = input?.runbook.definition.schedule;
  const incidentOf = (launcherId: string, runId: string): string | undefined => (input ? scheduledIncidentId(input, launcherId, runId) : undefined);
  return {
    scheduleId: d.scheduleId,
    origin: isManaged(d.memo) ? 'runbook-file' : 'manual',
    source: typeof d.memo?.source === 'string' ? d.memo.source : undefined,
    runbook: input?.runbook.name,
    service: input?.service,
    target: input?.target,
    when: whenText(schedule, d),
    overlap: String(d.policies.overlap).toLowerCase(),
    catchupWindowMs: d.policies.catchupWindow,
    jitter: schedule?.jitter,
    paused: d.state.paused,
    note: d.state.note,
    runsTaken: d.info.numActionsTaken,
    nextRuns: d.info.nextActionTimes.map((t) => t.toISOString()),
    recentRuns: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.toISOString(),
      takenAt: a.takenAt.toISOString(),
      launcherId: a.action.workflow.workflowId,
      incidentId: incidentOf(a.action.workflow.workflowId, a.action.workflow.firstExecutionRunId),
    })),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
  };
}

/** Every schedule, described, sorted by id; one deleted meanwhile is left out. */
export async function listScheduleViews(client: Client): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const s of client.schedule.list()) {
    try {
      views.push(scheduleView(await client.schedule.getHandle(s.scheduleId).describe()));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return views.sort((a, b) => (a.scheduleId < b.scheduleId ? -1 : a.scheduleId > b.scheduleId ? 1 : 0));
}
