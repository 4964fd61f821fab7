import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { listSnapshots } from '../../activities/adapters/snapshots';
import { AuditRecord } from '../../audit/audit-record';
import { dataIdentical } from '../../demo/fleet-files';
import { processesUsing } from '../../demo/fleet';
import { runScenario } from '../../demo/scenarios';
import { runCli } from '../helpers/cli';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ intake: true });
});

after(async () => {
  await stack?.stop();
});

test("a primary killed after its data directory was deleted: the standby is restored from the newest verified backup, and the audit records the snapshot and its age", async () => {
  const demoDir = join(stack.config.stateDir, 'demo-disk-loss');
  const result = await runScenario('disk-loss', { config: stack.config, demoDir, autoApprove: true });

  assert.equal(result.incidents.length, 1);
  const incident = result.incidents[0];
  assert.ok(incident);
  assert.equal(incident.outcome, 'healed', JSON.stringify(incident.steps.map((s) => [s.id, s.status, s.lastError ?? s.summary])));
  const status = Object.fromEntries(incident.steps.map((s) => [s.id, s.status]));
  assert.equal(status.probe_primary_data, 'succeeded');
  assert.equal(status.sync_data, 'skipped', 'nothing to sync from a deleted directory');
  assert.equal(status.restore_standby_data, 'succeeded');
  assert.equal(status.restore_primary_data, 'succeeded');
  assert.equal(status.fail_back, 'succeeded');

  // The snapshot restored is the one the backup runbook took and verified before the fault.
  const snapshots = await listSnapshots(join(demoDir, 'backups', 'primary'));
  const restored = incident.steps.find((s) => s.id === 'restore_standby_data')?.output;
  const snapshot = snapshots.find((s) => s.id === restored?.snapshot);
  assert.ok(snapshot, `restored ${String(restored?.snapshot)}, repository holds ${snapshots.map((s) => s.id).join(', ')}`);
  assert.equal(snapshot.verification?.ok, true);
  assert.equal(typeof restored?.age_seconds, 'number');
  assert.equal(result.report.rounds[0]?.recoveryPoint?.snapshot, snapshot.id);
  assert.equal(result.report.data?.identical, true);
  assert.equal((await dataIdentical(join(demoDir, 'data', 'primary'), join(demoDir, 'data', 'standby'))).identical, true);
  assert.match(result.report.verdict, /^Healed from backup: .* recovery point \d+ s/);
  assert.equal(result.report.load.stale, 0, 'the standby never answered from its stale model');

  // The audit trail says which path the runbook took and the recovery point.
  const cli = await runCli(['audit', incident.incidentId, '--json'], stack.env);
  assert.equal(cli.code, 0, cli.stderr);
  const audit = AuditRecord.parse(JSON.parse(cli.stdout));
  const steps = Object.fromEntries(audit.steps.map((s) => [s.id, s]));
  assert.equal(steps.probe_primary_data?.output?.ok, false);
  assert.equal(steps.sync_data?.status, 'skipped');
  assert.equal(steps.sync_data?.skipReason, 'when condition is false');
  assert.equal(steps.restore_standby_data?.output?.snapshot, snapshot.id);
  assert.equal(steps.restore_standby_data?.output?.age_seconds, restored?.age_seconds);
  assert.equal(steps.restore_standby_data?.output?.verified, true);
  assert.match(steps.restore_standby_data?.summary ?? '', /recovery point \d+s old/);
  assert.deepEqual(processesUsing(demoDir), []);
});
