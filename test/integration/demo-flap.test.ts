import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
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

test('a primary that keeps crashing is healed automatically until the flap limit, then automation stops and asks a human', async () => {
  const demoDir = join(stack.config.stateDir, 'demo');
  const result = await runScenario('flap', { config: stack.config, demoDir, autoApprove: true });

  // demo-failover.yaml: the third incident for the target within the window is flapping.
  assert.equal(result.incidents.length, 3);
  const healed = result.incidents.slice(0, -1);
  const flapping = result.incidents.at(-1);
  assert.ok(flapping);
  for (const incident of healed) {
    assert.equal(incident.outcome, 'healed');
    assert.equal(incident.steps.find((s) => s.id === 'isolate_primary')?.attempts.length, 1);
  }
  assert.equal(result.escalations.length, 1);
  assert.equal(result.escalations[0]?.type, 'flap');
  assert.equal(result.escalations[0]?.step, 'isolate_primary');
  assert.match(result.escalations[0]?.reason ?? '', /^flapping: 3 incidents/);
  assert.equal(flapping.steps.find((s) => s.id === 'confirm')?.status, 'succeeded');
  for (const step of flapping.steps.filter((s) => s.kind !== 'confirm')) assert.equal(step.attempts.length, 0, `${step.id} did not run`);
  assert.equal(flapping.status, 'aborted');
  assert.match(flapping.outcome ?? '', /flapping/);
  assert.deepEqual(processesUsing(demoDir), []);
});
