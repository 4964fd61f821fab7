import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { AuditRecord } from '../../audit/audit-record';
import { dataIdentical } from '../../demo/fleet-files';
import { processesUsing } from '../../demo/fleet';
import { runScenario } from '../../demo/scenarios';
import { PROJECT_ROOT } from '../../stack/toolchain';
import type { incident } from '../../workflows';
import { runCli } from '../helpers/cli';
import { startTestStack, type TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;

/** The primary's data is readable, so it is synced and the restores from backup are skipped. */
const SYNCED_PATH = [
  ...['confirm', 'isolate_primary', 'start_standby', 'probe_primary_data', 'sync_data'].map((id) => [id, 'succeeded']),
  ['restore_standby_data', 'skipped'],
  ['restore_standby', 'succeeded'],
  ['restore_primary_data', 'skipped'],
  ...['restart_primary', 'verify', 'fail_back'].map((id) => [id, 'succeeded']),
];

before(async () => {
  stack = await startTestStack({ intake: true });
});

after(async () => {
  await stack?.stop();
});

test('the demo runbook loads with runbook validate', async () => {
  const run = await runCli(['validate', join(PROJECT_ROOT, 'demo', 'demo-failover.yaml')], stack.env);
  assert.equal(run.code, 0, run.stdout + run.stderr);
});

test('a killed primary costs no request: HAProxy moves clients to the hot standby while the runbook fences, resyncs, restarts and fails back through drain', async () => {
  const demoDir = join(stack.config.stateDir, 'demo-crash');
  const result = await runScenario('crash', { config: stack.config, demoDir, autoApprove: true });

  assert.equal(result.incidents.length, 1);
  const incident = result.incidents[0];
  assert.ok(incident);
  assert.equal(incident.status, 'resolved');
  assert.equal(incident.outcome, 'healed');
  assert.deepEqual(incident.steps.map((s) => [s.id, s.status]), SYNCED_PATH);
  for (const step of incident.steps.filter((s) => s.kind !== 'confirm' && s.status === 'succeeded')) assert.equal(step.attempts.length, 1, `${step.id} ran once`);
  assert.equal(incident.compensations.length, 0);
  assert.deepEqual(
    incident.requests.map((r) => [r.type, r.step, r.outcome]),
    [['approval', 'fail_back', 'approve']],
  );
  assert.deepEqual(result.escalations, []);
  assert.equal(result.report.data?.identical, true);
  assert.equal((await dataIdentical(join(demoDir, 'data', 'primary'), join(demoDir, 'data', 'standby'))).identical, true);
  assert.equal(result.report.servers.primary?.admin, 'ready');
  assert.equal(result.report.servers.standby?.admin, 'ready');
  assert.equal(result.report.load.stale, 0, 'the standby never answered from a stale model');
  const round = result.report.rounds[0];
  assert.equal(round?.failedRequests, 0, 'no request failed from the crash to the end of the fail-back');
  assert.equal(result.report.load.failed, 0);
  assert.ok((result.report.load.byInstance.standby ?? 0) > 0, 'the hot standby answered while the primary was out');
  assert.ok(round?.latency?.failover && round.latency.steady, 'latency measured before and during the failover');
  const step = (id: string) => incident.steps.find((s) => s.id === id);
  assert.equal(step('isolate_primary')?.output?.current, 'maint');
  assert.equal(step('isolate_primary')?.output?.verified, true);
  assert.equal(step('start_standby')?.output?.changed, false, 'the hot standby was already running');
  assert.equal(step('restore_standby')?.output?.current, 'ready');
  assert.equal(step('fail_back')?.output?.via_drain, true);
  assert.equal(step('fail_back')?.output?.previous, 'maint');
  assert.equal(step('fail_back')?.output?.current, 'ready');
  assert.deepEqual(processesUsing(demoDir), []);
});

test('runbook demo crash --auto-approve heals the primary and prints the report', async () => {
  const run = await runCli(['demo', 'crash', '--auto-approve', '--state-dir', stack.config.stateDir], stack.env);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /time to detect\s+\d/);
  assert.match(run.stdout, /failed requests\s+0\n/);
  assert.match(run.stdout, /added latency \(p99\)\s+\d+ ms/);
  assert.match(run.stdout, /identical on primary and standby/);
  assert.match(run.stdout, /npx runbook audit incident\/demo\/primary/);

  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  try {
    const handle = new Client({ connection, namespace: stack.config.namespace }).workflow.getHandle<typeof incident>('incident/demo/primary');
    const result = await handle.result();
    assert.equal(result.status, 'resolved');
    assert.equal(result.outcome, 'healed');
  } finally {
    await connection.close();
  }
  const audit = await runCli(['audit', 'incident/demo/primary', '--json'], stack.env);
  assert.equal(audit.code, 0, audit.stderr);
  const record = AuditRecord.parse(JSON.parse(audit.stdout));
  const audited = (id: string) => record.steps.find((s) => s.id === id);
  assert.deepEqual(record.steps.map((s) => [s.id, s.status]), SYNCED_PATH);
  assert.equal(audited('isolate_primary')?.output?.verified, true, 'the audit shows the primary fenced, verified');
  assert.equal(audited('restart_primary')?.output?.healthy, true);
  assert.match(audited('fail_back')?.summary ?? '', /through drain/);
  const demoDir = join(stack.config.stateDir, 'demo');
  assert.equal((await dataIdentical(join(demoDir, 'data', 'primary'), join(demoDir, 'data', 'standby'))).identical, true);
  assert.deepEqual(processesUsing(demoDir), []);
});
