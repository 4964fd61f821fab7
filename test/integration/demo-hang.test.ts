import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dataIdentical } from '../../demo/fleet-files';
import { processesUsing } from '../../demo/fleet';
import { runScenario } from '../../demo/scenarios';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ intake: true });
});

after(async () => {
  await stack?.stop();
});

test('a hung primary (stopped, not answering) costs no request: HAProxy retries on the hot standby while the runbook confirms, fences, restarts and fails back', async () => {
  const demoDir = join(stack.config.stateDir, 'demo');
  const result = await runScenario('hang', { config: stack.config, demoDir, autoApprove: true });

  assert.equal(result.incidents.length, 1);
  const incident = result.incidents[0];
  assert.ok(incident);
  assert.equal(incident.status, 'resolved');
  assert.equal(incident.outcome, 'healed');
  // The hung primary's data is readable: it is synced, and the restores from backup are skipped.
  const skipped = ['restore_standby_data', 'restore_primary_data'];
  assert.deepEqual(incident.steps.map((s) => [s.id, s.status]), incident.steps.map((s) => [s.id, skipped.includes(s.id) ? 'skipped' : 'succeeded']));
  for (const step of incident.steps.filter((s) => s.kind !== 'confirm' && s.status === 'succeeded')) assert.equal(step.attempts.length, 1, `${step.id} ran once`);
  const restart = incident.steps.find((s) => s.id === 'restart_primary');
  assert.notEqual(restart?.output?.previous_pid, null, 'the hung process was still alive and was replaced');
  assert.notEqual(restart?.output?.pid, restart?.output?.previous_pid);
  assert.deepEqual(result.escalations, []);
  const round = result.report.rounds[0];
  assert.equal(round?.failedRequests, 0, 'no request failed from the hang to the end of the fail-back');
  assert.equal(result.report.load.failed, 0);
  assert.ok((result.report.load.byInstance.standby ?? 0) > 0, 'the hot standby answered while the primary hung');
  assert.ok(round?.latency?.failover && round.latency.steady, 'latency measured before and during the failover');
  const isolate = incident.steps.find((s) => s.id === 'isolate_primary');
  assert.equal(isolate?.output?.current, 'maint');
  assert.equal(isolate?.output?.verified, true);
  const failBack = incident.steps.find((s) => s.id === 'fail_back');
  assert.equal(failBack?.output?.via_drain, true);
  assert.equal(failBack?.output?.current, 'ready');
  assert.equal(result.report.data?.identical, true);
  assert.equal((await dataIdentical(join(demoDir, 'data', 'primary'), join(demoDir, 'data', 'standby'))).identical, true);
  assert.deepEqual(processesUsing(demoDir), []);
});
