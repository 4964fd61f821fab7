import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { approveDrillSchedule } from '../../api/drill-schedule-approval';
import { decisionKeyPath, readDecisionKey } from '../../config/decision-key';
import { temporalConnectOptions } from '../../config/temporal-connection';
import type { DrillReport } from '../../schemas/drill-report';
import { drillScheduleIdFor } from '../../schemas/scheduled-run';
import { waitFor } from '../../stack/wait-for';
import { drillState, incidentState } from '../../workflows/messages';
import { natsFor, publishFault, testFault } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * A drill declared with `drill.schedule` runs from a Temporal Schedule: the
 * intake makes the schedule at start-up, a member of the drill group approves
 * the schedule once (someone outside it is refused), and each drill it starts
 * runs without asking again, injects its fault, sees its incident heal, and
 * files a report that names the schedule.
 */

let stack: TestStack;
let connection: Connection;
let client: Client;
let nc: NatsConnection;
let scratch: string;
let rosterFile: string;
const SCHEDULE_ID = drillScheduleIdFor('drill-sched', 'scratch', 'disk-1');

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drill-schedule-'));
  scratch = join(dir, 'scratch-data');
  mkdirSync(scratch);
  writeFileSync(join(scratch, 'payload'), 'data a drill deletes');
  rosterFile = join(dir, 'roster.yaml');
  writeFileSync(rosterFile, 'groups:\n  drills:\n    members: [carol]\n  oncall:\n    members: [alice]\n  sre-leads:\n    members: [alice]\n');
  const runbooksDir = join(dir, 'runbooks');
  mkdirSync(runbooksDir);
  writeFileSync(
    join(runbooksDir, 'drill-sched.yaml'),
    [
      'name: drill-sched',
      'version: 1',
      'match:',
      '  kinds: [scratch_lost]',
      '  services: [scratch]',
      'objectives:',
      '  heal: 1m',
      'drill:',
      '  approvers: [drills]',
      '  fault:',
      '    kind: delete_data',
      `    path: ${scratch}`,
      '  detect_timeout: 1m',
      '  heal_timeout: 1m',
      '  schedule:',
      '    every: 1h',
      '    targets:',
      '      - { service: scratch, target: disk-1 }',
      'steps:',
      '  - id: settle',
      '    action: { kind: wait, duration: 1s }',
      '',
    ].join('\n'),
  );
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir, rosterFile } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
  nc = await natsFor(stack);
});

after(async () => {
  await nc?.close();
  await connection?.close();
  await stack?.stop();
});

test('a drill schedule made from the runbook file, approved once by the drill group, runs a drill that heals and files its report', { timeout: 5 * 60_000 }, async () => {
  await waitFor('the intake to make the drill schedule', 60_000, () => client.schedule.getHandle(SCHEDULE_ID).describe().then(() => true, () => false), 500);
  const key = readDecisionKey(decisionKeyPath(stack.config));
  const refused = await approveDrillSchedule(client, SCHEDULE_ID, 'mallory', { reason: 'let me' }, { decisionKey: key, rosterFile });
  assert.deepEqual([refused.status, refused.body.refusal], [403, 'NotAnApprover']);
  const approved = await approveDrillSchedule(client, SCHEDULE_ID, 'carol', { reason: 'monthly rehearsal of the scratch disk' }, { decisionKey: key, rosterFile });
  assert.deepEqual([approved.status, approved.body.accepted], [200, true]);

  await client.schedule.getHandle(SCHEDULE_ID).trigger();
  let drillId: string | undefined;
  await waitFor('the scheduled drill to wait for its incident', 60_000, async () => {
    for await (const wf of client.workflow.list({ query: `WorkflowType = 'drill' AND ExecutionStatus = 'Running'` })) drillId = wf.workflowId;
    if (!drillId) return false;
    const s = await client.workflow.getHandle(drillId).query(drillState).catch(() => undefined);
    return s?.phase === 'detecting';
  }, 500);
  assert.equal(existsSync(scratch), false, 'the fault really deleted the scratch directory');
  // The monitor of this test: it reports the lost disk, and the ordinary intake opens the incident.
  await publishFault(nc, testFault({ id: 'scratch-lost-1', service: 'scratch', target: 'disk-1', kind: 'scratch_lost', severity: 'critical' }));
  const report = (await client.workflow.getHandle(drillId ?? '').result()) as DrillReport;
  assert.equal(report.result, 'passed', `reasons: ${report.reasons.join('; ')}`);
  assert.deepEqual(report.scheduled, { scheduleId: SCHEDULE_ID });
  assert.ok(report.approval && 'preApproved' in report.approval && report.approval.preApproved.by === 'carol', 'approved with the schedule, by carol');
  assert.ok(!report.timeline.some((t) => t.what.startsWith('waiting for a member')), 'the drill did not ask again');
  assert.equal(report.incident?.status, 'resolved');
  const incident = await client.workflow.getHandle(report.incident?.incidentId ?? '', report.incident?.runId).query(incidentState);
  assert.equal(incident.drill?.drillId, report.drillId);
});
