import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { parseDocument } from 'yaml';
import { listSnapshots } from '../../activities/adapters/snapshots';
import type { AuditRecord } from '../../audit/audit-record';
import { ENV } from '../../config/config';
import { DEMO_BACKUP_RUNBOOK_TEMPLATE } from '../../demo/fleet-files';
import type { IncidentResult } from '../../schemas/incident-state';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { prepareCliStack, type CliStack } from '../helpers/cli-stack';

/*
 * The demo fleet's backup runbook run by its hourly schedule on the real
 * stack: the schedule is made at start-up from the runbook file, and each
 * `runbook schedule trigger` is a scheduled run whose incident takes and
 * verifies a `--link-dest` snapshot.
 */

const SCHEDULE = 'demo-backup/demo/primary-backups';

let stack: CliStack;
let root: string;
let connection: Connection | undefined;

const dataDir = (): string => join(root, 'primary');
const repository = (): string => join(root, 'backups');

async function client(): Promise<Client> {
  const info = stack.info();
  connection ??= await Connection.connect({ address: info.temporalAddress });
  return new Client({ connection, namespace: info.namespace });
}

/** Triggers the schedule and waits for the incident of that run; answers with its result. */
async function triggeredRun(): Promise<{ incidentId: string; result: IncidentResult }> {
  const run = await runCli(['schedule', 'trigger', SCHEDULE], stack.env);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const incidentId = /incident (incident\/demo\/primary-backups\/demo-backup-\d{8}T\d{6}Z)/.exec(run.stdout)?.[1];
  assert.ok(incidentId, run.stdout);
  const c = await client();
  await waitFor(`${incidentId} to start`, 30_000, () => c.workflow.getHandle(incidentId).describe().then(() => true, () => false), 250);
  return { incidentId, result: (await c.workflow.getHandle(incidentId).result()) as IncidentResult };
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'runbook-test-backup-schedule-'));
  mkdirSync(join(dataDir(), 'models'), { recursive: true });
  writeFileSync(join(dataDir(), 'models', 'weights.bin'), 'weights v1\n');
  writeFileSync(join(dataDir(), 'config.json'), '{"version":1}\n');
  const runbooksDir = join(root, 'runbooks');
  mkdirSync(runbooksDir);
  // The shipped demo runbook, schedule included, with this test's directories as params (as `runbook demo` writes it).
  const doc = parseDocument(readFileSync(DEMO_BACKUP_RUNBOOK_TEMPLATE, 'utf8'));
  doc.setIn(['params', 'data_dir'], dataDir());
  doc.setIn(['params', 'backup_repository'], repository());
  writeFileSync(join(runbooksDir, 'demo-backup.yaml'), doc.toString());
  stack = await prepareCliStack({ [ENV.runbooksDir]: runbooksDir });
});

after(async () => {
  await connection?.close();
  await stack?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

test('the demo backup runbook is scheduled hourly from its file, and each triggered run takes a verified --link-dest snapshot, then applies retention', async () => {
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  const c = await client();
  await waitFor(`schedule ${SCHEDULE}`, 60_000, () => c.schedule.getHandle(SCHEDULE).describe().then(() => true, () => false), 250);
  const shown = await runCli(['schedule', 'show', SCHEDULE, '--json'], stack.env);
  assert.equal(shown.code, 0, shown.stdout + shown.stderr);
  const view = JSON.parse(shown.stdout) as { when: string; overlap: string; runbook: string };
  assert.deepEqual([view.when, view.overlap, view.runbook], ['every 1h', 'skip', 'demo-backup']);

  const first = await triggeredRun();
  assert.equal(first.result.status, 'resolved', JSON.stringify(first.result.outcome));
  const firstOut = first.result.state.steps[0]?.output ?? {};
  assert.equal(firstOut.verified, true);
  assert.equal(firstOut.link_dest, null);
  const audit = await runCli(['audit', first.incidentId, '--json'], stack.env);
  assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  assert.equal((JSON.parse(audit.stdout) as AuditRecord).kind, 'scheduled');

  writeFileSync(join(dataDir(), 'config.json'), '{"version":2}\n');
  // Snapshot ids and run ids have a resolution of a second.
  const firstAt = Date.now();
  await waitFor('a new second on the clock', 5_000, async () => Math.floor(Date.now() / 1000) > Math.floor(firstAt / 1000), 100);
  const second = await triggeredRun();
  assert.notEqual(second.incidentId, first.incidentId);
  assert.equal(second.result.status, 'resolved', JSON.stringify(second.result.outcome));
  const secondOut = second.result.state.steps[0]?.output ?? {};
  assert.equal(secondOut.verified, true);
  assert.equal(secondOut.link_dest, firstOut.snapshot, 'the second snapshot is hard-linked to the first');

  // Only the changed file is stored anew; the rest are hard links to the first snapshot.
  assert.equal(secondOut.new_bytes, Buffer.byteLength('{"version":2}\n'));
  assert.ok((secondOut.bytes as number) > (secondOut.new_bytes as number), JSON.stringify(secondOut));
  // Both runs fall in one hour, and the hourly retention keeps the newest of an hour.
  assert.deepEqual(secondOut.removed, [firstOut.snapshot]);
  const snapshots = await listSnapshots(repository());
  assert.deepEqual(snapshots.map((s) => s.id), [secondOut.snapshot]);
  const [kept] = snapshots;
  assert.equal(kept?.verification?.ok, true);
  assert.equal(readFileSync(join(kept.dataDir, 'config.json'), 'utf8'), '{"version":2}\n');
});
