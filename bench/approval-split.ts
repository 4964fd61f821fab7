import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { eventTimeMs } from './fixtures';
import { eachBounded } from './proc-stats';
import { summarize } from './stats';
import type { LatencySummary } from './report-types';

const E = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** When the caller sent one approval and when its acknowledgement came back (epoch ms). */
export interface ApprovalCall {
  sentAt: number;
  ackedAt: number;
}

/**
 * Where the time of one approval went, read from the workflow's history
 * against the caller's clock (same host): each phase in ms, summarized over
 * every workflow of one side.
 */
export interface ApprovalSplit {
  /** Call sent → the workflow task that ran the Update handler started. */
  toHandlerTask: LatencySummary;
  /** That task started → the Update completed (the handler, including any activity it awaited). */
  handler: LatencySummary;
  /** Activities the handler awaited: scheduled → started (queue wait behind other work). */
  handlerActivityWait?: LatencySummary;
  /** Activities the handler awaited: started → completed. */
  handlerActivityRun?: LatencySummary;
  /** Update completed → the caller had its acknowledgement. */
  ackReturn: LatencySummary;
  /** Update completed → workflow completed: what each workflow still did after its approval. */
  afterApproval: LatencySummary;
  /** Workflow tasks per workflow from the handler's task to the Update's completion, and after it. */
  tasksBefore: number;
  tasksAfter: number;
  /** Activities per workflow between the Update's acceptance and its completion, and after it, by type (mean per workflow). */
  activitiesBefore: Record<string, number>;
  activitiesAfter: Record<string, number>;
  /** Workflow task scheduled → started, from the handler's task on (the worker's backlog). */
  taskWait: LatencySummary;
}

/** Reads every workflow's history (`limit` at a time) and splits its approval into phases. */
export async function approvalSplit(client: Client, calls: ReadonlyMap<string, ApprovalCall>, limit: number): Promise<ApprovalSplit> {
  const ids = [...calls.keys()];
  const phases = { toHandlerTask: [] as number[], handler: [] as number[], wait: [] as number[], run: [] as number[], ackReturn: [] as number[], after: [] as number[], taskWait: [] as number[] };
  const before: Record<string, number> = {};
  const after: Record<string, number> = {};
  let tasksBefore = 0;
  let tasksAfter = 0;
  await eachBounded(ids.length, limit, async (i) => {
    const id = ids[i] as string;
    const call = calls.get(id) as ApprovalCall;
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    const at = (e: HistoryEvent | undefined): number => eventTimeMs(e?.eventTime);
    const accepted = events.findIndex((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    const completed = events.findIndex((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
    const closed = events.findIndex((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    if (accepted < 0 || completed < 0 || closed < 0) throw new Error(`${id}: history lacks the accepted or completed Update, or the close`);
    let handlerTask = accepted;
    while (handlerTask > 0 && events[handlerTask]?.eventType !== E.EVENT_TYPE_WORKFLOW_TASK_STARTED) handlerTask--;
    const handlerStart = at(events[handlerTask]);
    phases.toHandlerTask.push(handlerStart - call.sentAt);
    phases.handler.push(at(events[completed]) - handlerStart);
    phases.ackReturn.push(call.ackedAt - at(events[completed]));
    phases.after.push(at(events[closed]) - at(events[completed]));
    const scheduled = new Map<string, HistoryEvent>();
    const started = new Map<string, HistoryEvent>();
    let taskScheduled: HistoryEvent | undefined;
    for (const [k, e] of events.entries()) {
      const id = String(e.eventId);
      if (e.eventType === E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) taskScheduled = e;
      if (e.eventType === E.EVENT_TYPE_WORKFLOW_TASK_STARTED) {
        if (k >= handlerTask && taskScheduled) phases.taskWait.push(at(e) - at(taskScheduled));
        if (k >= handlerTask && k < completed) tasksBefore++;
        if (k > completed) tasksAfter++;
      }
      if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        scheduled.set(id, e);
        const type = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
        const tally = k < accepted ? undefined : k < completed ? before : after;
        if (tally) tally[type] = (tally[type] ?? 0) + 1;
      }
      if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED) started.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), e);
      if (e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && k < completed && k > accepted) {
        const sid = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
        const s = scheduled.get(sid);
        const st = started.get(sid);
        if (s && st) {
          phases.wait.push(at(st) - at(s));
          phases.run.push(at(e) - at(st));
        }
      }
    }
  });
  const perWorkflow = (tally: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(tally).map(([k, v]) => [k, v / ids.length]));
  return {
    toHandlerTask: summarize(phases.toHandlerTask),
    handler: summarize(phases.handler),
    ...(phases.wait.length > 0 ? { handlerActivityWait: summarize(phases.wait), handlerActivityRun: summarize(phases.run) } : {}),
    ackReturn: summarize(phases.ackReturn),
    afterApproval: summarize(phases.after),
    tasksBefore: tasksBefore / ids.length,
    tasksAfter: tasksAfter / ids.length,
    activitiesBefore: perWorkflow(before),
    activitiesAfter: perWorkflow(after),
    taskWait: summarize(phases.taskWait),
  };
}

/** "verifyDecision 1, recordAuditEvents 2" for a note. */
export function formatActivities(tally: Record<string, number>): string {
  const parts = Object.entries(tally).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(2)}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}
