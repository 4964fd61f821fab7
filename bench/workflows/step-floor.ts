import { proxyActivities } from '@temporalio/workflow';

/** The floor's one activity: does nothing but note that it ran. */
export interface FloorActivities {
  noopStep(runId: string, step: number): Promise<void>;
}

const { noopStep } = proxyActivities<FloorActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } });

/** The least a workflow can do per step: call one no-op activity, `steps` times in a row. */
export async function stepFloor(runId: string, steps: number): Promise<number> {
  for (let i = 1; i <= steps; i++) await noopStep(runId, i);
  return steps;
}
