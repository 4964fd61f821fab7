import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { ENV } from '../../config/config';
import type { AlertmanagerReply } from '../../intake/alertmanager-receiver';
import { listDeadLetters } from '../../intake/dead-letter-store';
import { FAULTS_STREAM } from '../../intake/streams';
import type { ManagedProcess } from '../../stack/managed-process';
import { freePorts } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { metricValue, natsFor, startIntake, waitForDrained } from '../helpers/intake-harness';
import { startServerAgain, stopServer } from '../helpers/server-restart';
import { startTestStack, type TestStack } from '../helpers/stack';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/intake');

let stack: TestStack;
let nc: NatsConnection;
let mapped: ManagedProcess | undefined;
let mappedPort = 0;

before(async () => {
  stack = await startTestStack({ worker: false, intake: true, overrides: { runbooksDir: join(FIXTURES, 'runbooks') } });
  nc = await natsFor(stack);
  [mappedPort = 0] = await freePorts(1);
  mapped = await startIntake(stack, 'intake-mapped', mappedPort, { [ENV.alertmanagerMappingFile]: join(FIXTURES, 'alertmanager-mapping.yaml') });
});

after(async () => {
  await mapped?.stop();
  await nc?.close();
  await stack?.stop();
});

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, 'alertmanager', name), 'utf8');
}

async function post(body: string | Uint8Array, port = stack.config.intakePort, method = 'POST'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/alertmanager`, { method, body: method === 'POST' ? body : undefined, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The fault event JetStream stored at `seq`, as the intake will read it. */
async function storedEvent(seq: number): Promise<{ subject: string; event: Record<string, unknown>; msgId: string }> {
  const m = await (await nc.jetstreamManager()).streams.getMessage(FAULTS_STREAM, { seq });
  return { subject: m.subject, event: JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>, msgId: m.header.get('Nats-Msg-Id') };
}

describe('POST /alertmanager', () => {
  test('a firing group of several alerts is stored as one fault event per alert before the 2xx reply', async () => {
    const { status, json } = await post(fixture('group-firing.json'));
    assert.equal(status, 200, JSON.stringify(json));
    const reply = json as unknown as AlertmanagerReply;
    assert.equal(reply.stored, 3);
    assert.deepEqual(reply.rejected, []);
    const byTarget = new Map<string, Record<string, unknown>>();
    for (const e of reply.events) {
      const stored = await storedEvent(e.seq);
      assert.equal(stored.subject, 'faults.amweb.NodeDown');
      assert.equal(stored.msgId, stored.event.id, 'the event id is the JetStream message id');
      byTarget.set(String(stored.event.target), stored.event);
    }
    assert.deepEqual([...byTarget.keys()].sort(), ['10.0.0.3_9100', 'web-1', 'web-2']);
    const web1 = byTarget.get('web-1');
    assert.equal(web1?.id, `am-a1b2c3d4e5f60001-${Date.parse('2024-05-01T12:00:00Z')}`);
    assert.equal(web1?.service, 'amweb');
    assert.equal(web1?.kind, 'NodeDown');
    assert.equal(web1?.severity, 'critical');
    assert.equal(web1?.status, 'firing');
    assert.equal(web1?.source, 'alertmanager:ops');
    assert.equal(web1?.observedAt, '2024-05-01T12:00:00.000Z');
    assert.equal(byTarget.get('10.0.0.3_9100')?.severity, 'warning');
    assert.deepEqual(reply.events.map((e) => e.incidentId).sort(), ['incident/amweb/10.0.0.3_9100', 'incident/amweb/web-1', 'incident/amweb/web-2']);
  });

  test('the same notification sent again stores nothing new', async () => {
    const { status, json } = await post(fixture('group-firing.json'));
    assert.equal(status, 200);
    assert.equal(json.stored, 0);
    assert.equal(json.duplicates, 3);
  });

  test('a resolved alert becomes a resolved fault event for the same target', async () => {
    const { status, json } = await post(fixture('resolved.json'));
    assert.equal(status, 200, JSON.stringify(json));
    const reply = json as unknown as AlertmanagerReply;
    assert.equal(reply.stored, 1);
    const [only] = reply.events;
    assert.ok(only);
    const { event } = await storedEvent(only.seq);
    assert.equal(event.status, 'resolved');
    assert.equal(event.target, 'web-1');
    assert.equal(event.id, `am-a1b2c3d4e5f60001-${Date.parse('2024-05-01T12:00:00Z')}-resolved`);
    assert.equal(event.observedAt, '2024-05-01T12:07:30.000Z');
    assert.equal(only.incidentId, 'incident/amweb/web-1');
  });

  test("Grafana's variant is accepted, and an alert that cannot be mapped is listed and dead-lettered without failing the group", async () => {
    const { status, json } = await post(fixture('grafana-firing.json'));
    assert.equal(status, 200, JSON.stringify(json));
    const reply = json as unknown as AlertmanagerReply;
    assert.equal(reply.stored, 1);
    const [stored] = reply.events;
    assert.ok(stored);
    const { subject, event } = await storedEvent(stored.seq);
    assert.equal(subject, 'faults.amapi.High_latency');
    assert.equal(event.target, 'api-1_8080');
    assert.equal(reply.rejected.length, 1);
    assert.equal(reply.rejected[0]?.index, 1);
    assert.match(reply.rejected[0]?.error ?? '', /target/);
    const letters = await listDeadLetters(await nc.jetstreamManager(), 100);
    assert.ok(letters.some((l) => l.reason === 'unmappable_alert' && /target/.test(l.error)));
    assert.ok((await metricValue(stack.config.intakePort, 'runbook_intake_alertmanager_alerts_total', '{outcome="rejected"}')) >= 1);
  });

  test('a malformed body gets 400 with a message naming the problem', async () => {
    const notJson = await post('{"alerts": [');
    assert.equal(notJson.status, 400);
    assert.match(String(notJson.json.error), /not JSON/);
    const noAlerts = await post(JSON.stringify({ status: 'firing', receiver: 'ops' }));
    assert.equal(noAlerts.status, 400);
    assert.match(String(noAlerts.json.error), /alerts/);
  });

  test('a body over the size limit gets 413', async () => {
    const big = JSON.stringify({ status: 'firing', alerts: [], pad: 'x'.repeat(1024 * 1024 + 10) });
    const { status, json } = await post(big);
    assert.equal(status, 413);
    assert.match(String(json.error), /limit/);
  });

  test('only POST is accepted', async () => {
    const { status } = await post('', stack.config.intakePort, 'GET');
    assert.equal(status, 405);
  });

  test('a configured label mapping file changes which labels feed the fault fields', async () => {
    const body = JSON.stringify({
      version: '4',
      status: 'firing',
      receiver: 'infra',
      alerts: [
        { status: 'firing', labels: { app: 'ammapped', host: 'db-1', problem: 'disk_full', priority: 'P1' }, annotations: {}, startsAt: '2024-05-01T12:00:00Z', fingerprint: 'ffee000000000001' },
        { status: 'firing', labels: { app: 'ammapped', host: 'db-2', problem: 'disk_full', priority: 'p3' }, annotations: {}, startsAt: '2024-05-01T12:00:00Z', fingerprint: 'ffee000000000002' },
      ],
    });
    const { status, json } = await post(body, mappedPort);
    assert.equal(status, 200, JSON.stringify(json));
    const reply = json as unknown as AlertmanagerReply;
    const events = await Promise.all(reply.events.map(async (e) => (await storedEvent(e.seq)).event));
    assert.deepEqual(
      events.map((e) => [e.service, e.target, e.kind, e.severity, e.source]).sort(),
      [
        ['ammapped', 'db-1', 'disk_full', 'critical', 'prom:infra'],
        ['ammapped', 'db-2', 'disk_full', 'info', 'prom:infra'],
      ],
    );
  });
});

describe('when NATS drops', () => {
  test('the receiver answers 503 while JetStream is away, and the intake reconnects without crashing and consumes again', { timeout: 90_000 }, async () => {
    const intake = stack.stack.processes.find((p) => p.name === 'intake');
    assert.ok(intake);
    await stopServer(stack, 'nats');
    const down = await post(fixture('group-firing.json').replaceAll('a1b2c3d4e5f6', 'b1b2c3d4e5f6'));
    assert.equal(down.status, 503, JSON.stringify(down.json));
    await waitFor('the intake to report the outage', 10_000, async () => (await fetch(`http://127.0.0.1:${stack.config.intakePort}/healthz`)).status === 503, 200);

    await startServerAgain(stack, 'nats');
    await waitFor('the intake to reconnect', 30_000, async () => (await fetch(`http://127.0.0.1:${stack.config.intakePort}/healthz`)).status === 200, 200);
    assert.ok(intake.isRunning(), 'the intake process survived');

    const up = await post(fixture('group-firing.json').replaceAll('a1b2c3d4e5f6', 'b1b2c3d4e5f6'));
    assert.equal(up.status, 200, JSON.stringify(up.json));
    assert.equal(up.json.stored, 3);
    await waitForDrained(nc, 30_000);
  });
});
