import type { WorkflowHandle } from '@temporalio/client';
import { signDecision } from '../engine/decision-signature';
import { DRILL_DECISION_STEP, DRILL_WORKFLOW, type DrillInput } from '../schemas/drill-input';
import type { DrillReport } from '../schemas/drill-report';
import { waitFor } from '../stack/wait-for';
import { runbookFrom, type EngineHarness } from '../test/helpers/engine';
import { decideDrill, drillState } from '../workflows/messages';

/*
 * Drill paths for scripts/record-histories.ts: a drill approved by the drill
 * group and run as a dry run (every phase, nothing broken), and one rejected.
 */

/** The member of the recording roster's `drills` group. */
export const DRILL_APPROVER = 'rehearser';

/** One drill path: how it is answered and how it must end. */
export interface DrillPath {
  name: string;
  verdict: 'approve' | 'reject';
  expect: DrillReport['result'];
}

export const DRILL_PATHS: readonly DrillPath[] = [
  { name: 'drills-dry-run-approved', verdict: 'approve', expect: 'passed' },
  { name: 'drills-rejected', verdict: 'reject', expect: 'rejected' },
];

function drillRunbook(name: string, dir: string): string {
  return `
name: ${name}
version: 1
match: { kinds: [drill_recorded] }
objectives: { heal: 5m }
drill:
  fault: { kind: delete_data, path: ${dir}/data }
  steady_state: []
  restore:
    - id: settle
      action: { kind: wait, duration: 1s }
steps:
  - id: note
    action: { kind: wait, duration: 1s }`;
}

/** The fixed id a drill path runs under, so its history replays under it. */
export function recordedDrillId(name: string): string {
  return `drill/${name}/node-1/${name}/2026-01-01T00-00-00-000Z`;
}

/** Starts a drill path (a dry run), answers its approval as the path says, and returns its handle. */
export async function runDrillPath(h: EngineHarness, path: DrillPath, dir: string, decisionKey: Buffer): Promise<WorkflowHandle> {
  const drillId = recordedDrillId(path.name);
  const input: DrillInput = { drillId, runbook: runbookFrom(drillRunbook(path.name, dir)), service: path.name, target: 'node-1', dryRun: true, requestedBy: 'recorder' };
  const handle = await h.client.workflow.start(DRILL_WORKFLOW, { workflowId: drillId, taskQueue: h.taskQueue, args: [input] });
  await waitFor(`${path.name} to wait for approval`, 30_000, async () => (await handle.query(drillState).catch(() => undefined))?.approvalTimeoutAt !== undefined, 100);
  const reason = 'recording a history';
  const signature = signDecision(decisionKey, { purpose: 'decision', incidentId: drillId, step: DRILL_DECISION_STEP, verdict: path.verdict, by: DRILL_APPROVER, channel: 'test', reason });
  await handle.executeUpdate(decideDrill, { args: [{ verdict: path.verdict, by: DRILL_APPROVER, channel: 'test', reason, signature }] });
  const report = (await handle.result()) as DrillReport;
  if (report.result !== path.expect) throw new Error(`${path.name} ended ${report.result} (${report.reasons.join('; ')}), expected ${path.expect}`);
  return handle;
}
