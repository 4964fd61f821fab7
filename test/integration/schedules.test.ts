import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import type { ScheduleView } from '../../incidents/schedule-view';
import { ENV } from '../../config/config';
import type { AuditRecord } from '../../audit/audit-record';
import { SCHEDULE_MANAGED_BY } from '../../schemas/scheduled-run';
import type { ScheduledRunInput } from '../../schemas/scheduled-run';
import { waitFor } from '../../stack/wait-for';
import { runCli, type CliRun } from '../helpers/cli';
import { prepareCliStack, type CliStack } from '../helpers/cli-stack';

/*
 * Schedules on the real stack, as a user runs it: made from the runbook files
 * when the stack starts, the same ones after a restart, and every
 * `runbook schedule` command against them.
 */

let stack: CliStack;
let runbooksDir: string;
let connection: Connection | undefined;

// Due once a year, so no run fires by itself during the test: every run here is triggered.
const RUNBOOK = (version: number): string => `name: nightly-check
version: ${version}
match:
  kinds: [scheduled]
schedule:
  cron: "0 0 1 1 *"
  targets:
    - { service: app, target: primary }
    - { service: app, target: standby }
  overlap: skip
  catchup_window: 1m
  jitter: 5s
steps:
  - id: settle
    action:
      kind: wait
      duration: 1s
`;

const PRIMARY = 'nightly-check/app/primary';
const STANDBY = 'nightly-check/app/standby';

async function client(): Promise<Client> {
  const info = stack.info();
  connection ??= await Connection.connect({ address: info.temporalAddress });
  return new Client({ connection, namespace: info.namespace });
}

async function cli(args: string[]): Promise<CliRun> {
  const run = await runCli(['schedule', ...args], stack.env);
  assert.equal(run.code, 0, `runbook schedule ${args.join(' ')}: ${run.stdout}${run.stderr}`);
  return run;
}

async function listed(): Promise<ScheduleView[]> {
  return JSON.parse((await cli(['list', '--json'])).stdout) as ScheduleView[];
}

async function scheduleIds(c: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of c.schedule.list()) ids.push(s.scheduleId);
  return ids.sort();
}

/** Waits until Temporal's schedule listing (eventually consistent) shows exactly `ids`. */
async function waitForIds(ids: string[]): Promise<void> {
  const c = await client();
  await waitFor(`schedules ${ids.join(', ')}`, 60_000, async () => JSON.stringify(await scheduleIds(c)) === JSON.stringify([...ids].sort()), 250);
}

async function fingerprint(id: string): Promise<string | undefined> {
  const d = await (await client()).schedule.getHandle(id).describe();
  return (d.action.args?.[0] as ScheduledRunInput | undefined)?.fingerprint;
}

before(async () => {
  runbooksDir = mkdtempSync(join(tmpdir(), 'runbook-test-schedules-'));
  writeFileSync(join(runbooksDir, 'nightly-check.yaml'), RUNBOOK(1));
  stack = await prepareCliStack({ [ENV.runbooksDir]: runbooksDir });
});

after(async () => {
  await connection?.close();
  await stack?.cleanup();
  rmSync(runbooksDir, { recursive: true, force: true });
});

test('start-up makes one schedule per declared target, deletes a managed orphan and leaves a hand-made schedule alone', async () => {
  // Once up, plant an orphan (marked as made from a runbook file that is gone) and a hand-made schedule.
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  await waitForIds([PRIMARY, STANDBY]);
  const c = await client();
  const base = { spec: { cronExpressions: ['0 0 1 1 *'] }, action: { type: 'startWorkflow' as const, workflowType: 'scheduledRun', taskQueue: stack.info().taskQueue, args: [] } };
  await c.schedule.create({ ...base, scheduleId: 'removed-runbook/app/primary', action: { ...base.action, workflowId: 'schedule/removed' }, memo: { managedBy: SCHEDULE_MANAGED_BY, runbook: 'removed-runbook' } });
  await c.schedule.create({ ...base, scheduleId: 'made-by-hand', action: { ...base.action, workflowId: 'schedule/by-hand' } });
  await waitForIds([PRIMARY, STANDBY, 'removed-runbook/app/primary', 'made-by-hand']);

  const down = await stack.down();
  assert.equal(down.code, 0, down.stdout + down.stderr);
  const again = await stack.up();
  assert.equal(again.code, 0, again.stdout + again.stderr);
  await connection?.close();
  connection = undefined;
  await waitForIds([PRIMARY, STANDBY, 'made-by-hand']);
  await assert.rejects((await client()).schedule.getHandle('removed-runbook/app/primary').describe(), ScheduleNotFoundError);

  const views = await listed();
  assert.deepEqual(views.map((v) => [v.scheduleId, v.origin]), [['made-by-hand', 'manual'], [PRIMARY, 'runbook-file'], [STANDBY, 'runbook-file']]);
  const primary = views.find((v) => v.scheduleId === PRIMARY);
  assert.equal(primary?.when, 'cron 0 0 1 1 *');
  assert.equal(primary?.overlap, 'skip');
  assert.equal(primary?.catchupWindowMs, 60_000);
  assert.equal(primary?.runbook, 'nightly-check');
  assert.equal(primary?.target, 'primary');
});

test('a restart after the runbook file changed updates its schedules in place, keeping an operator\'s pause, with no duplicate', async () => {
  await cli(['pause', PRIMARY, '--reason', 'maintenance window']);
  const before = await fingerprint(PRIMARY);
  writeFileSync(join(runbooksDir, 'nightly-check.yaml'), RUNBOOK(2));
  assert.equal((await stack.down()).code, 0);
  assert.equal((await stack.up()).code, 0);
  await connection?.close();
  connection = undefined;
  await waitFor('the schedule to follow the changed runbook', 60_000, async () => (await fingerprint(PRIMARY).catch(() => before)) !== before, 250);
  await waitForIds([PRIMARY, STANDBY, 'made-by-hand']);
  const shown = JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView;
  assert.equal(shown.paused, true);
  assert.equal(shown.note, 'maintenance window');
  const d = await (await client()).schedule.getHandle(PRIMARY).describe();
  assert.equal((d.action.args?.[0] as ScheduledRunInput).runbook.version, 2);
  await cli(['unpause', PRIMARY]);
  assert.equal((JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView).paused, false);
});

test('trigger starts a run whose incident has its own workflow id, runs the runbook and is audited', async () => {
  const out = (await cli(['trigger', PRIMARY])).stdout;
  const m = /incident (incident\/app\/primary\/nightly-check-\d{8}T\d{6}Z)/.exec(out);
  assert.ok(m?.[1], out);
  const incidentId = m[1];
  const c = await client();
  // The schedule reports its run once the launcher started; the launcher opens the incident right after.
  await waitFor(`${incidentId} to start`, 30_000, () => c.workflow.getHandle(incidentId).describe().then(() => true, () => false), 250);
  const result = (await c.workflow.getHandle(incidentId).result()) as { status: string; outcome: string };
  assert.equal(result.status, 'resolved', JSON.stringify(result));

  const audit = await runCli(['audit', incidentId, '--json'], stack.env);
  assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  const record = JSON.parse(audit.stdout) as AuditRecord;
  assert.equal(record.incidentId, incidentId);
  assert.equal(record.kind, 'scheduled');
  assert.deepEqual(record.steps.map((s) => [s.id, s.status]), [['settle', 'succeeded']]);

  const shown = JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView;
  assert.equal(shown.recentRuns.at(-1)?.incidentId, incidentId);
  assert.match(shown.recentRuns.at(-1)?.result ?? '', /^resolved/);
  // The fault-driven incident id of the target stays free for faults.
  await assert.rejects(c.workflow.getHandle('incident/app/primary').describe());

  // A second trigger is a second run with another id.
  await waitFor('a second second on the clock', 5_000, () => !new Date().toISOString().startsWith(shown.recentRuns.at(-1)?.takenAt.slice(0, 19) ?? ''), 100);
  const second = /incident (\S+)/.exec((await cli(['trigger', PRIMARY])).stdout)?.[1];
  assert.ok(second && second !== incidentId, `second run ${second ?? '?'}`);
});

test('a run due while a fault-driven incident is open on its target opens no incident (if_incident_open: skip)', async () => {
  const c = await client();
  const faultIncident = 'incident/app/primary';
  const fault = { id: 'evt-open-1', source: 'test', service: 'app', target: 'primary', kind: 'node_down', severity: 'critical', status: 'firing', observedAt: new Date().toISOString(), labels: {}, annotations: {} };
  // No runbook: the incident only records faults and stays open.
  const open = await c.workflow.start('incident', { workflowId: faultIncident, taskQueue: stack.info().taskQueue, args: [{ incidentId: faultIncident, fault }] });
  try {
    const runsBefore = (JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView).runsTaken;
    await waitFor('a new second on the clock', 5_000, async () => {
      const last = (JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView).recentRuns.at(-1);
      return !new Date().toISOString().startsWith(last?.takenAt.slice(0, 19) ?? '');
    }, 100);
    await cli(['trigger', PRIMARY]);
    const view = JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView;
    assert.equal(view.runsTaken, runsBefore + 1);
    const run = view.recentRuns.at(-1);
    assert.ok(run);
    const launched = (await c.workflow.getHandle(run.launcherId).result()) as { ran: boolean; skipped?: string };
    assert.equal(launched.ran, false);
    assert.match(launched.skipped ?? '', /incident\/app\/primary is open/);
    const shown = (JSON.parse((await cli(['show', PRIMARY, '--json'])).stdout) as ScheduleView).recentRuns.at(-1);
    assert.equal(shown?.incidentId, undefined);
    assert.match(shown?.result ?? '', /^skipped: incident\/app\/primary is open/);
  } finally {
    await open.terminate('test over');
  }
});

test('a paused schedule refuses a trigger, and delete removes the schedule and says start-up brings it back', async () => {
  await cli(['pause', STANDBY]);
  const held = await runCli(['schedule', 'trigger', STANDBY], stack.env);
  assert.equal(held.code, 1);
  assert.match(held.stderr, /is paused .*unpause it first/);
  assert.equal((JSON.parse((await cli(['show', STANDBY, '--json'])).stdout) as ScheduleView).runsTaken, 0);
  const removed = await cli(['delete', STANDBY]);
  assert.match(removed.stdout, /next start-up makes it again/);
  await waitForIds([PRIMARY, 'made-by-hand']);
  const missing = await runCli(['schedule', 'show', STANDBY], stack.env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no schedule "nightly-check\/app\/standby"/);
  const byHand = await cli(['delete', 'made-by-hand']);
  assert.doesNotMatch(byHand.stdout, /start-up/);
  assert.ok(readFileSync(join(runbooksDir, 'nightly-check.yaml'), 'utf8').includes('standby'));
});
