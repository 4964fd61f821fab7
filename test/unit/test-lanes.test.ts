import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integrationLanes } from '../../scripts/test-lanes';

test('the files that load the machine for minutes share one lane and every file runs exactly once', () => {
  const files = [
    'test/integration/cluster-fault-storm.test.ts',
    'test/integration/demo-crash.test.ts',
    'test/integration/fault-injection-storm.test.ts',
    'test/integration/bench-smoke.test.ts',
    'test/integration/api-auth-limits.test.ts',
    'test/integration/adapters/secrets.test.ts',
  ];
  const [heavy, light] = integrationLanes(files);
  assert.deepEqual(heavy, ['test/integration/cluster-fault-storm.test.ts', 'test/integration/fault-injection-storm.test.ts', 'test/integration/bench-smoke.test.ts']);
  assert.deepEqual(light, ['test/integration/demo-crash.test.ts', 'test/integration/api-auth-limits.test.ts', 'test/integration/adapters/secrets.test.ts']);
  assert.deepEqual([...heavy, ...light].sort(), [...files].sort());
});
