import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
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
import { metricValue, natsFor, startIntake, waitForDrained, webhookAuthorization } from '../helpers/intake-harness';
import { startServerAgain, stopServer } from '../helpers/server-restart';
import { startTestStack, type TestStack } from '../helpers/stack';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/intake');

let stack: TestStack;
let nc: NatsConnection;
let mapped: ManagedProcess | undefined;
let mappedPort = 0;
/** An intake taking basic auth only, with a small burst, for the rate limit. */
let basicIntake: ManagedProcess | undefined;
let basicPort = 0;
/** An intake with no credential configured. */
let bareIntake: ManagedProcess | undefined;
let barePort = 0;
const BASIC_BURST = 4;
const BASIC_PASSWORD = 'basic-password-for-tests';

before(async () => {
  stack = await startTestStack({ worker: false, intake: true, overrides: { runbooksDir: join(FIXTURES, 'runbooks') } });
  nc = await natsFor(stack);
  [mappedPort = 0, basicPort = 0, barePort = 0] = await freePorts(3);
  const passwordFile = join(stack.config.stateDir, 'basic-password');
  writeFileSync(passwordFile, `${BASIC_PASSWORD}\n`, { mode: 0o600 });
  [mapped, basicIntake, bareIntake] = await Promise.all([
    startIntake(stack, 'intake-mapped', mappedPort, { [ENV.alertmanagerMappingFile]: join(FIXTURES, 'alertmanager-mapping.yaml') }),
    startIntake(stack, 'intake-basic', basicPort, {
      [ENV.intakeWebhookTokenFile]: '',
      [ENV.intakeWebhookBasicUser]: 'alertmanager',
      [ENV.intakeWebhookBasicPasswordFile]: passwordFile,
      [ENV.intakeWebhookBurst]: String(BASIC_BURST),
      [ENV.intakeWebhookRatePerSecond]: '0.01',
    }),
    startIntake(stack, 'intake-bare', barePort, { [ENV.intakeWebhookTokenFile]: '' }),
  ]);
});

after(async () => {
  await Promise.all([mapped?.stop(), basicIntake?.stop(), bareIntake?.stop()]);
  await nc?.close();
  await stack?.stop();
});

function fixture(name: string): string {
  return readFileSync(join(FIXTURES, 'alertmanager', name), 'utf8');
}

async function post(body: string | Uint8Array, port = stack.config.intakePort, method = 'POST'): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/alertmanager`, { method, body: method === 'POST' ? body : undefined, headers: { 'content-type': 'application/json', authorization: webhookAuthorization(stack) } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A POST with exactly these headers (no credential unless given). */
async function postWith(headers: Record<string, string>, body: string, port = stack.config.intakePort): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}/alertmanager`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

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

describe('who may post to /alertmanager', () => {
  test('a request without a credential gets 401 with WWW-Authenticate, stores nothing, and is counted', async () => {
    const before = await metricValue(stack.config.intakePort, 'runbook_intake_webhook_unauthorized_total');
    const body = fixture('group-firing.json').replaceAll('a1b2c3d4e5f6', 'c1b2c3d4e5f6');
    const none = await postWith({ 'content-type': 'application/json' }, body);
    assert.equal(none.status, 401, JSON.stringify(none.json));
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    assert.match(String(none.json.error), /credentials are required/);
    const wrong = await postWith({ 'content-type': 'application/json', authorization: 'Bearer not-the-token' }, body);
    assert.equal(wrong.status, 401);
    assert.match(String(wrong.json.error), /not valid/);
    assert.equal(await metricValue(stack.config.intakePort, 'runbook_intake_webhook_unauthorized_total'), before + 2);
    const info = await (await nc.jetstreamManager()).streams.info(FAULTS_STREAM);
    const later = await post(body);
    assert.equal(later.status, 200);
    assert.equal(later.json.stored, 3, 'the refused notifications stored nothing, so the same alerts are new now');
    assert.equal((await (await nc.jetstreamManager()).streams.info(FAULTS_STREAM)).state.last_seq, info.state.last_seq + 3);
  });

  test('a body that is not declared as JSON gets 415', async () => {
    const { status, json } = await postWith({ 'content-type': 'text/plain', authorization: webhookAuthorization(stack) }, fixture('resolved.json'));
    assert.equal(status, 415);
    assert.match(String(json.error), /application\/json/);
  });

  test('with basic auth configured, the user and password get in and a wrong password does not', async () => {
    const ok = await postWith({ 'content-type': 'application/json; charset=utf-8', authorization: basicAuth('alertmanager', BASIC_PASSWORD) }, fixture('resolved.json'), basicPort);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const bad = await postWith({ 'content-type': 'application/json', authorization: basicAuth('alertmanager', 'guess') }, fixture('resolved.json'), basicPort);
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const bearer = await postWith({ 'content-type': 'application/json', authorization: webhookAuthorization(stack) }, fixture('resolved.json'), basicPort);
    assert.equal(bearer.status, 401, 'this intake takes no bearer token');
  });

  test('a burst over the per-address limit gets 429 with Retry-After, and is counted', async () => {
    const headers = { 'content-type': 'application/json', authorization: basicAuth('alertmanager', BASIC_PASSWORD) };
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof postWith>> | undefined;
    for (let i = 0; i < BASIC_BURST + 1 && limited === undefined; i++) {
      const r = await postWith(headers, '{}', basicPort);
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, `no 429 within ${BASIC_BURST + 1} requests: ${statuses.join(',')}`);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.match(String(limited.json.error), /too many requests/);
    assert.ok((await metricValue(basicPort, 'runbook_intake_webhook_rate_limited_total')) >= 1);
    const still = await postWith(headers, fixture('resolved.json'), basicPort);
    assert.equal(still.status, 429, 'a valid request is refused too until the bucket refills');
  });

  test('an intake with no credential configured refuses every request with 503 saying how to configure one', async () => {
    const { status, json } = await postWith({ 'content-type': 'application/json', authorization: webhookAuthorization(stack) }, fixture('resolved.json'), barePort);
    assert.equal(status, 503);
    assert.match(String(json.error), new RegExp(`${ENV.intakeWebhookTokenFile}.*${ENV.intakeWebhookAuth}=none`));
    assert.equal((await fetch(`http://127.0.0.1:${barePort}/healthz`)).status, 200, 'the intake itself is healthy');
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
