import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { ENV } from '../../config/config';
import { ACK_GATE_HANDED_OFF } from '../../intake/ack-gate';
import { Handoff } from '../../intake/handoff';
import { FaultEvent } from '../../schemas/fault-event';
import { routeEvent, snapshotOf } from '../../intake/intake-loop';
import { loadRunbookDir } from '../../engine/load-runbook';
import type { ManagedProcess } from '../../stack/managed-process';
import { freePorts } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { consumerBacklog, faultsOf, incidentIds, metricValue, natsFor, publishFault, startIntake, testFault, waitForDrained } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';
import { crash } from '../helpers/processes';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;
let nc: NatsConnection;
let connection: Connection;
let client: Client;
const intakes: ManagedProcess[] = [];
let ports: number[] = [];

before(async () => {
  stack = await startTestStack({ worker: true, intake: false, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks') } });
  ports = await freePorts(3);
  nc = await natsFor(stack);
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
});

after(async () => {
  for (const proc of intakes) await proc.stop();
  await nc?.close();
  await connection?.close();
  await stack?.stop();
});

function port(i: number): number {
  const p = ports[i];
  if (p === undefined) throw new Error(`no port ${i}`);
  return p;
}

async function handled(p: number): Promise<number> {
  let sum = 0;
  for (const outcome of ['started', 'coalesced']) sum += await metricValue(p, 'runbook_intake_events_total', `{outcome="${outcome}"}`);
  return sum;
}

test('an intake killed after handing an event to Temporal but before acking leaves one incident after restart', { timeout: 120_000 }, async () => {
  const gate = mkdtempSync(join(stack.config.stateDir, 'ack-gate-'));
  const crashing = await startIntake(stack, 'intake-crashing', port(0), { [ENV.intakeAckGateDir]: gate });
  intakes.push(crashing);

  await publishFault(nc, testFault({ id: 'crash-1', service: 'crashsvc', target: 'node-1' }));
  await waitFor('the intake to hand the event to Temporal', 30_000, () => {
    try {
      return readFileSync(join(gate, ACK_GATE_HANDED_OFF), 'utf8').split('\n').includes('crash-1');
    } catch {
      return false;
    }
  });
  assert.equal((await faultsOf(client, 'incident/crashsvc/node-1'))?.count, 1, 'Temporal accepted the event');
  assert.deepEqual(await consumerBacklog(nc), { pending: 0, unacked: 1 }, 'not acked yet');

  await crash(crashing);

  intakes.push(await startIntake(stack, 'intake-restarted', port(1)));
  await waitForDrained(nc, 60_000);
  assert.equal(await handled(port(1)), 1, 'the restarted intake handled the redelivered event');
  await waitFor('the incident list', 15_000, async () => (await incidentIds(client, 'crashsvc')).length >= 1, 250);
  assert.deepEqual(await incidentIds(client, 'crashsvc'), ['incident/crashsvc/node-1']);
  assert.equal((await faultsOf(client, 'incident/crashsvc/node-1'))?.count, 1);
});

test('two intake processes consuming together hand every event once into the right incident', { timeout: 120_000 }, async (t) => {
  // intake-restarted from the previous test keeps running; add a second one.
  intakes.push(await startIntake(stack, 'intake-second', port(2)));
  const before = [await handled(port(1)), await handled(port(2))];

  const targets = ['a', 'b', 'c', 'd'];
  const events = Array.from({ length: 400 }, (_, i) => testFault({ id: `pair-${i}`, service: 'pairsvc', target: targets[i % targets.length], severity: 'info' }));
  await Promise.all(events.map((e) => publishFault(nc, e)));

  const expected = targets.map((x) => `incident/pairsvc/${x}`);
  await waitFor('every incident to absorb its 100 events', 90_000, async () => {
    const counts = await Promise.all(expected.map((id) => faultsOf(client, id)));
    return counts.every((f) => f?.count === 100);
  }, 500);
  await waitForDrained(nc, 30_000);
  await waitFor('the incident list', 15_000, async () => (await incidentIds(client, 'pairsvc')).length >= 4, 250);
  assert.deepEqual(await incidentIds(client, 'pairsvc'), expected);

  const deltas = [(await handled(port(1))) - (before[0] ?? 0), (await handled(port(2))) - (before[1] ?? 0)];
  t.diagnostic(`events handled per intake: ${deltas.join(' + ')}`);
  assert.equal((deltas[0] ?? 0) + (deltas[1] ?? 0), 400, 'each event handed to Temporal exactly once across both intakes');
  for (const p of [port(1), port(2)]) assert.equal(await metricValue(p, 'runbook_intake_events_total', '{outcome="dead_lettered"}'), 0);
});

/**
 * Leaves one intake consuming, gated to hold its acks, and publishes a brief
 * fault for `target`; back once that intake handed it to Temporal (and holds
 * it unacked, to be crashed).
 */
async function handedOffNotAcked(name: string, eventId: string, target: string): Promise<{ crashing: ManagedProcess; incidentId: string }> {
  // Only the intake that will be killed consumes, so it is the one holding the event.
  for (const proc of intakes.splice(0)) await proc.stop();
  const gate = mkdtempSync(join(stack.config.stateDir, 'ack-gate-'));
  const crashing = await startIntake(stack, name, port(0), { [ENV.intakeAckGateDir]: gate });
  intakes.push(crashing);
  await publishFault(nc, testFault({ id: eventId, service: 'briefsvc', target, kind: 'intake_brief' }));
  await waitFor('the intake to hand the event to Temporal', 30_000, () => {
    try {
      return readFileSync(join(gate, ACK_GATE_HANDED_OFF), 'utf8').split('\n').includes(eventId);
    } catch {
      return false;
    }
  });
  return { crashing, incidentId: `incident/briefsvc/${target}` };
}

test('an event redelivered after the incident that absorbed it has closed is acked as a duplicate and opens no second incident', { timeout: 120_000 }, async () => {
  const { crashing, incidentId } = await handedOffNotAcked('intake-crashing-2', 'brief-1', 'node-1');
  const first = await client.workflow.getHandle(incidentId).describe();
  await waitFor('the incident to close', 60_000, async () => (await client.workflow.getHandle(incidentId).describe()).status.name !== 'RUNNING', 250);
  assert.deepEqual(await consumerBacklog(nc), { pending: 0, unacked: 1 }, 'the event is still not acked');

  await crash(crashing);
  intakes.push(await startIntake(stack, 'intake-after-close', port(1)));
  await waitForDrained(nc, 60_000);
  assert.equal(await metricValue(port(1), 'runbook_intake_events_total', '{outcome="duplicate"}'), 1, 'the redelivery was recognised');
  assert.equal(await metricValue(port(1), 'runbook_intake_events_total', '{outcome="started"}'), 0, 'no incident was started for it');
  const now = await client.workflow.getHandle(incidentId).describe();
  assert.equal(now.runId, first.runId, 'the closed run is still the newest run of the incident');
  assert.equal((await faultsOf(client, incidentId))?.count, 1);
});

test('an event redelivered while a newer incident is open on its target, after the run that absorbed it closed, is a duplicate and not counted by the newer run', { timeout: 120_000 }, async () => {
  const { crashing, incidentId } = await handedOffNotAcked('intake-crashing-3', 'brief-older', 'node-2');
  const absorbing = await client.workflow.getHandle(incidentId).describe();
  await waitFor('the incident to close', 60_000, async () => (await client.workflow.getHandle(incidentId).describe()).status.name !== 'RUNNING', 250);

  // Another fault on the same target opens a newer incident (as another intake would) that stays open.
  const loaded = await loadRunbookDir(join(PROJECT_ROOT, 'test/fixtures/intake/runbooks'));
  assert.ok(loaded.ok);
  const newer = FaultEvent.parse(testFault({ id: 'hold-newer', service: 'briefsvc', target: 'node-2', kind: 'intake_test' }));
  const route = routeEvent(loaded.runbooks, newer);
  assert.ok(route, 'the hold runbook handles the newer fault');
  const opened = await new Handoff({ client, taskQueue: stack.config.taskQueue }).deliverAll([newer], snapshotOf(route), false);
  assert.equal(opened.outcome, 'started');

  await crash(crashing);
  intakes.push(await startIntake(stack, 'intake-after-newer', port(2)));
  try {
    await waitForDrained(nc, 60_000);
    assert.equal(await metricValue(port(2), 'runbook_intake_events_total', '{outcome="duplicate"}'), 1, 'the redelivery was recognised');
    const now = await client.workflow.getHandle(incidentId).describe();
    assert.equal(now.runId, opened.runId, 'the newer run is still the newest');
    assert.notEqual(now.runId, absorbing.runId);
    const { faults } = await client.workflow.getHandle(incidentId).query<{ faults: { count: number; recentEventIds: string[] } }>('state');
    assert.deepEqual({ count: faults.count, ids: faults.recentEventIds }, { count: 1, ids: ['hold-newer'] }, 'the newer run did not count the older fault');
  } finally {
    await client.workflow.getHandle(incidentId).terminate('test over').catch(() => undefined);
  }
});
