import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { FaultEvent } from '../../schemas/fault-event';
import { createAuditEventActivities } from '../../activities/audit-events';
import { waitFor } from '../../stack/wait-for';
import { incident } from '../../workflows';
import { faultResolved } from '../../workflows/messages';
import { startTestStack, type TestStack } from '../helpers/stack';
import { workerOptionsForTests } from '../helpers/worker';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;

before(async () => {
  stack = await startTestStack();
});

after(async () => {
  await stack?.stop();
});

const fault: FaultEvent = {
  id: 'evt-restart-1' as FaultEvent['id'],
  source: 'test',
  service: 'store' as FaultEvent['service'],
  target: 'node-3' as FaultEvent['target'],
  kind: 'node_down',
  severity: 'critical',
  status: 'firing',
  observedAt: '2026-01-01T00:00:00Z',
  labels: {},
  annotations: {},
};

test('an incident started before the stack stops is still there after it starts again, and completes', async () => {
  const taskQueue = 'restart-test';
  let connection = await Connection.connect(await temporalConnectOptions(stack.config));
  let client = new Client({ connection, namespace: stack.config.namespace });
  const handle = await client.workflow.start(incident, {
    workflowId: 'incident/store/node-3',
    taskQueue,
    args: [{ incidentId: 'incident/store/node-3', fault }],
  });
  const runId = handle.firstExecutionRunId;
  await connection.close();

  await stack.restart();

  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
  const nativeConnection = await NativeConnection.connect(await temporalConnectOptions(stack.config));
  // No NATS here: the audit activity fails at once and the incident counts an audit gap.
  const worker = await Worker.create({ ...workerOptionsForTests(), connection: nativeConnection, namespace: stack.config.namespace, taskQueue, activities: createAuditEventActivities({}) });
  try {
    const result = await worker.runUntil(async () => {
      const again = client.workflow.getHandle('incident/store/node-3', runId);
      assert.equal((await again.describe()).status.name, 'RUNNING');
      await waitFor('the incident to answer queries', 30_000, async () => {
        try {
          await again.query('state');
          return true;
        } catch {
          return false;
        }
      });
      await again.signal(faultResolved, { ...fault, id: 'evt-restart-2' as FaultEvent['id'], status: 'resolved' });
      return again.result();
    });
    assert.equal(result.status, 'resolved');
    assert.equal(result.outcome, 'recovered');
  } finally {
    await nativeConnection.close();
    await connection.close();
  }
});
