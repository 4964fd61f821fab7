import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { taskSplit } from '../../bench/history-split';

/** A history event at `ms` after the epoch, with the attributes given. */
function ev(eventId: number, eventType: number, ms: number, attrs: Record<string, unknown> = {}): Record<string, unknown> {
  return { eventId, eventType, eventTime: { seconds: Math.floor(ms / 1_000), nanos: (ms % 1_000) * 1e6 }, ...attrs };
}

describe('history split', () => {
  test('pairs each task with its own scheduled and started events, so overlapping activities are timed apart', () => {
    const events = [
      ev(1, 1, 1_000),
      ev(2, 5, 1_000),
      ev(3, 6, 1_004, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
      ev(4, 7, 1_010, { workflowTaskCompletedEventAttributes: { startedEventId: 3 } }),
      ev(5, 10, 1_010),
      ev(6, 10, 1_010),
      // Started events are written when their activity closes, out of time order, and name what they belong to.
      ev(8, 11, 1_050, { activityTaskStartedEventAttributes: { scheduledEventId: 6 } }),
      ev(9, 12, 1_051, { activityTaskCompletedEventAttributes: { startedEventId: 8 } }),
      ev(7, 11, 1_030, { activityTaskStartedEventAttributes: { scheduledEventId: 5 } }),
      ev(10, 13, 1_090, { activityTaskFailedEventAttributes: { startedEventId: 7 } }),
    ];
    const split = taskSplit(events as never);
    assert.deepEqual(split.workflowTaskDispatch, [4]);
    assert.deepEqual(split.workflowTaskRun, [6]);
    assert.deepEqual(split.activityDispatch, [40, 20]);
    assert.deepEqual(split.activityRun, [1, 60]);
  });

  test('a task whose earlier event is missing gives no sample rather than a made-up one', () => {
    const split = taskSplit([ev(3, 6, 1_004, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } })] as never);
    assert.deepEqual(split.workflowTaskDispatch, []);
  });
});
