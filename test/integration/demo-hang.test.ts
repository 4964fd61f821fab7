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

test('a hung primary (stopped, not answering) is confirmed, failed over, restarted and failed back with identical data', async () => {
  const demoDir = join(stack.config.stateDir, 'demo');
  const result = await runScenario('hang', { config: stack.config, demoDir, autoApprove: true });

  assert.equal(result.incidents.length, 1);
  const incident = result.incidents[0];
  assert.ok(incident);
  assert.equal(incident.status, 'resolved');
  assert.equal(incident.outcome, 'healed');
  assert.ok(incident.steps.every((s) => s.status === 'succeeded'), JSON.stringify(incident.steps.map((s) => [s.id, s.status])));
  for (const step of incident.steps.filter((s) => s.kind !== 'confirm')) assert.equal(step.attempts.length, 1, `${step.id} ran once`);
  const restart = incident.steps.find((s) => s.id === 'restart_primary');
  assert.notEqual(restart?.output?.previous_pid, null, 'the hung process was still alive and was replaced');
  assert.notEqual(restart?.output?.pid, restart?.output?.previous_pid);
  assert.deepEqual(result.escalations, []);
  assert.equal(result.report.data?.identical, true);
  assert.equal((await dataIdentical(join(demoDir, 'data', 'primary'), join(demoDir, 'data', 'standby'))).identical, true);
  assert.deepEqual(processesUsing(demoDir), []);
});
