import { temporal } from '@temporalio/proto';
import { eventTimeMs } from './fixtures';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Where a run's time went, per task, from its history: samples in ms. */
export interface TaskSplit {
  /** Workflow task scheduled → picked up by the worker: the server's dispatch. */
  workflowTaskDispatch: number[];
  /** Workflow task picked up → completed: the worker running workflow code. */
  workflowTaskRun: number[];
  /** Activity scheduled → picked up by the worker: the server's dispatch. */
  activityDispatch: number[];
  /** Activity picked up → its result recorded: the activity and its round trip. */
  activityRun: number[];
}

const E = temporal.api.enums.v1.EventType;
const ACTIVITY_TASK_CLOSED = new Set<number>([E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED]);

/** Splits one history into dispatch and run times of its workflow tasks and activities. */
export function taskSplit(events: readonly HistoryEvent[]): TaskSplit {
  const split: TaskSplit = { workflowTaskDispatch: [], workflowTaskRun: [], activityDispatch: [], activityRun: [] };
  const at = new Map<string, number>();
  const startedAt = new Map<string, number>();
  for (const e of events) {
    const id = String(e.eventId ?? '');
    const t = eventTimeMs(e.eventTime);
    switch (Number(e.eventType)) {
      case E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
      case E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        at.set(id, t);
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        pair(split.workflowTaskDispatch, at, String(e.workflowTaskStartedEventAttributes?.scheduledEventId ?? ''), t);
        startedAt.set(id, t);
        break;
      case E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        pair(split.workflowTaskRun, startedAt, String(e.workflowTaskCompletedEventAttributes?.startedEventId ?? ''), t);
        break;
      case E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        pair(split.activityDispatch, at, String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? ''), t);
        startedAt.set(id, t);
        break;
      default:
        if (ACTIVITY_TASK_CLOSED.has(Number(e.eventType))) pair(split.activityRun, startedAt, activityStartedId(e), t);
    }
  }
  return split;
}

function activityStartedId(e: HistoryEvent): string {
  const attrs = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
  return String(attrs?.startedEventId ?? '');
}

function pair(into: number[], from: Map<string, number>, key: string, t: number): void {
  const start = from.get(key);
  if (start !== undefined) into.push(t - start);
}

/** Adds one split's samples to another. */
export function mergeSplit(into: TaskSplit, more: TaskSplit): void {
  into.workflowTaskDispatch.push(...more.workflowTaskDispatch);
  into.workflowTaskRun.push(...more.workflowTaskRun);
  into.activityDispatch.push(...more.activityDispatch);
  into.activityRun.push(...more.activityRun);
}
