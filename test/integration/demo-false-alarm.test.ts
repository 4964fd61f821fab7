import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { checksumTree } from '../../demo/fleet-files';
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

test('a primary that misses one probe and recovers during confirmation is left untouched', async () => {
  const demoDir = join(stack.config.stateDir, 'demo');
  const result = await runScenario('false-alarm', { config: stack.config, demoDir, autoApprove: true });

  assert.equal(result.incidents.length, 1);
  const incident = result.incidents[0];
  assert.ok(incident);
  assert.ok(['false_alarm', 'resolved'].includes(incident.status), incident.status);
  assert.notEqual(incident.outcome, 'healed');
  assert.equal(incident.steps.find((s) => s.id === 'confirm')?.output?.confirmed, false);
  for (const step of incident.steps.filter((s) => s.kind !== 'confirm')) {
    assert.equal(step.status, 'pending', `${step.id} did not run`);
    assert.equal(step.attempts.length, 0);
  }
  assert.equal(incident.epoch, 0, 'nothing was isolated');
  assert.deepEqual(incident.requests, []);
  assert.deepEqual(result.escalations, []);
  assert.equal(result.report.servers.primary?.admin, 'ready');
  assert.equal(result.report.servers.standby?.admin, 'ready', 'the hot standby was left as it was, the backup');
  assert.equal(result.report.rounds[0]?.failedRequests, 0, 'HAProxy retried the requests the paused primary did not answer');
  const standby = await checksumTree(join(demoDir, 'data', 'standby'));
  // No runbook step synced it (all pending above); the hot standby's data follows the primary's by replication.
  assert.deepEqual(standby, await checksumTree(join(demoDir, 'data', 'primary')), "the hot standby's data followed the primary's");
  assert.deepEqual(processesUsing(demoDir), []);
});
