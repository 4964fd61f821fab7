import { condition, defineUpdate, setHandler } from '@temporalio/workflow';

/** The floor's approval: who approved; acknowledged once the workflow has taken it. */
export const floorApprove = defineUpdate<boolean, [string]>('floorApprove');

/**
 * The least a workflow can do to wait for one approval: an Update handler
 * that records the approver, a `condition` on it, and return.
 */
export async function waitingFloor(): Promise<string> {
  let approvedBy: string | undefined;
  setHandler(floorApprove, (by) => {
    approvedBy = by;
    return true;
  });
  await condition(() => approvedBy !== undefined);
  return approvedBy as string;
}
