import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { ensureJetStream } from '../../intake/streams';
import { createLogger } from '../../observability/logger';
import type { ManagedProcess } from '../../stack/managed-process';
import { freePorts } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { faultsOf, metricValue, natsFor, publishFault, startIntake, testFault, waitForDrained } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;
let connection: Connection;
let client: Client;
let nc: NatsConnection;
let intake: ManagedProcess | undefined;

before(async () => {
  stack = await startTestStack({ worker: true, intake: false, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks') } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
  nc = await natsFor(stack);
  await ensureJetStream(await nc.jetstreamManager(), createLogger('test', 'error'));
});

after(async () => {
  await intake?.stop();
  await nc?.close();
  await connection?.close();
  await stack?.stop();
});

test('a backlog of 300 events for one target reaches its incident in a few signals, all counted and in order', async () => {
  const events = Array.from({ length: 300 }, (_, i) => testFault({ id: `batch-${i}`, service: 'batchsvc', target: 'node-1', severity: i === 150 ? 'critical' : 'warning' }));
  for (const e of events) await publishFault(nc, e);

  const [port] = await freePorts(1);
  intake = await startIntake(stack, 'intake-batching', port as number);
  const id = 'incident/batchsvc/node-1';
  await waitFor('the incident to have absorbed all 300 events', 60_000, async () => (await faultsOf(client, id))?.count === 300, 250);
  await waitForDrained(nc, 30_000);

  const ledger = await client.workflow.getHandle(id).query<{ faults: { count: number; severity: string; lastEventId: string } }>('state');
  assert.equal(ledger.faults.lastEventId, 'batch-299', 'the last event published is the last absorbed');
  assert.equal(ledger.faults.severity, 'critical');

  const history = await client.workflow.getHandle(id).fetchHistory();
  const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
  const names = signals.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName);
  assert.ok(names.includes('faultsObserved'), `expected a batched signal, got ${[...new Set(names)].join(', ')}`);
  assert.ok(signals.length <= 30, `300 events arrived in ${signals.length} signals; batching should need far fewer`);
  assert.equal(await metricValue(port as number, 'runbook_intake_events_total', '{outcome="started"}'), 1);
  assert.equal(await metricValue(port as number, 'runbook_intake_events_total', '{outcome="coalesced"}'), 299);
});
