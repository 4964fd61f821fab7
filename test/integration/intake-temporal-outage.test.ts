import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { DEAD_LETTER_STREAM } from '../../intake/streams';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { consumerBacklog, faultsOf, incidentIds, metricValue, natsFor, publishFault, testFault, waitForDrained } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startServerAgain, stopServer } from '../helpers/server-restart';
import { temporalConnectOptions } from '../../config/temporal-connection';

/** How long Temporal stays down: the issue asks for about a minute. */
const OUTAGE_MS = 60_000;

let stack: TestStack;
let nc: NatsConnection;
let connection: Connection | undefined;

before(async () => {
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks') } });
  nc = await natsFor(stack);
});

after(async () => {
  await nc?.close();
  await connection?.close();
  await stack?.stop();
});

test('events published while Temporal is down for a minute are all handled once it is back, none dead-lettered, none lost', { timeout: 240_000 }, async () => {
  const port = stack.config.intakePort;
  await stopServer(stack, 'temporal');
  const stoppedAt = Date.now();

  const targets = ['t1', 't2', 't3', 't4'];
  const events = Array.from({ length: 100 }, (_, i) => testFault({ id: `outage-${i}`, service: 'outagesvc', target: targets[i % targets.length] }));
  await Promise.all(events.map((e) => publishFault(nc, e)));

  // The intake keeps the messages and says so: nacks counted as retried, backlog reported.
  await waitFor('the intake to nack events for redelivery', 45_000, async () => (await metricValue(port, 'runbook_intake_events_total', '{outcome="retried"}')) > 0, 500);
  await waitFor('the backlog gauge to show the waiting events', 20_000, async () => {
    const unacked = await metricValue(port, 'runbook_intake_backlog', '{state="unacked"}');
    const pending = await metricValue(port, 'runbook_intake_backlog', '{state="pending"}');
    return unacked + pending > 0;
  }, 500);
  assert.ok(stack.stack.processes.find((p) => p.name === 'intake')?.isRunning(), 'the intake survives the outage');
  const backlog = await consumerBacklog(nc);
  assert.ok(backlog.pending + backlog.unacked > 0, 'messages are kept, not acked');

  // The outage itself is the scenario: keep Temporal away for the full minute.
  await waitFor('the outage to last a minute', OUTAGE_MS + 5_000, () => Date.now() - stoppedAt >= OUTAGE_MS, 1_000);
  await startServerAgain(stack, 'temporal');

  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  const expected = targets.map((t) => `incident/outagesvc/${t}`);
  await waitFor('all 100 events to reach their incidents', 120_000, async () => {
    const counts = await Promise.all(expected.map((id) => faultsOf(client, id)));
    return counts.every((f) => f?.count === 25);
  }, 1_000);
  await waitForDrained(nc, 30_000);
  await waitFor('the list of incidents to show all four', 15_000, async () => (await incidentIds(client, 'outagesvc')).length >= 4, 250);
  assert.deepEqual(await incidentIds(client, 'outagesvc'), expected);

  const dead = await (await nc.jetstreamManager()).streams.info(DEAD_LETTER_STREAM);
  assert.equal(dead.state.messages, 0, 'nothing dead-lettered');
  assert.equal(await metricValue(port, 'runbook_intake_events_total', '{outcome="dead_lettered"}'), 0);
});
