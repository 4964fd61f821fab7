import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'nats';
import type { NatsConnection, Subscription } from 'nats';
import type { ManagedProcess } from '../../stack/managed-process';
import { startNatsServer } from '../../stack/nats-server';
import { freePorts } from '../../stack/ports';
import { action, harness, rejectsWith, request, resolved, testDeps, waitFor } from '../fixtures/activities/harness';
import { startReceiver } from '../fixtures/activities/http-receiver';
import type { Receiver } from '../fixtures/activities/http-receiver';

describe('webhook calls to a real HTTP receiver', () => {
  let receiver: Receiver;
  const h = harness();
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  test('notify posts the message with incident, step, epoch and the step idempotency key', async () => {
    const notify = action({ kind: 'notify', webhook: { url: `${receiver.url}/chat`, headers: { 'X-Team': 'sre' }, body: { channel: '#ops' } }, message: 'failover done' });
    const result = await h.runAction(request(notify, { stepId: 'tell', epoch: 4 }));
    assert.deepEqual(result.output, { status: 200, delivered: true });
    const got = receiver.requests.at(-1);
    assert.equal(got?.method, 'POST');
    assert.equal(got?.path, '/chat');
    assert.equal(got?.headers['idempotency-key'], 'incident/app/primary/tell');
    assert.equal(got?.headers['x-team'], 'sre');
    assert.deepEqual(JSON.parse(got?.body ?? ''), {
      incident_id: 'incident/app/primary',
      step_id: 'tell',
      action: 'notify',
      message: 'failover done',
      channel: '#ops',
      epoch: 4,
    });
  });

  test('a runbook body cannot replace the isolation epoch', async () => {
    const start = action({ kind: 'start_service', webhook: { url: receiver.url, body: { epoch: 1, service: 'db' } }, role: 'standby' });
    const result = await h.runAction(request(start, { epoch: 9 }));
    assert.equal(result.output.changed, true);
    const body = JSON.parse(receiver.requests.at(-1)?.body ?? '') as Record<string, unknown>;
    assert.equal(body.epoch, 9);
    assert.equal(body.service, 'db');
    assert.equal(body.role, 'standby');
  });

  test('a retried isolation by webhook sends the same idempotency key each time', async () => {
    const isolate = action({ kind: 'isolate', webhook: { url: `${receiver.url}/lb` } });
    const count = receiver.requests.length;
    const first = await h.runAction(request(isolate, { stepId: 'fence' }));
    await h.runAction(request(isolate, { stepId: 'fence' }));
    assert.deepEqual(first.output, { status: 200, changed: true, verified: false });
    const keys = receiver.requests.slice(count).map((r) => r.headers['idempotency-key']);
    assert.deepEqual(keys, ['incident/app/primary/fence', 'incident/app/primary/fence']);
  });

  test('a restore by webhook to a receiver that is gone fails retryably', async () => {
    const gone = await startReceiver();
    await gone.close();
    const restore = action({ kind: 'restore', webhook: { url: gone.url } });
    await rejectsWith(h.runAction(request(restore)), 'WebhookUnavailable', false);
  });
});

describe('notify through a real NATS server', () => {
  let stateDir: string;
  let server: ManagedProcess | undefined;
  let nc: NatsConnection;
  let sub: Subscription;
  const seen: { data: string; msgId: string | undefined }[] = [];

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'act-nats-'));
    const [port, monitorPort] = (await freePorts(2)) as [number, number];
    server = await startNatsServer({ stateDir, port, monitorPort });
    nc = await connect({ servers: `127.0.0.1:${port}` });
    sub = nc.subscribe('incidents.>');
    void (async () => {
      for await (const m of sub) seen.push({ data: new TextDecoder().decode(m.data), msgId: m.headers?.get('Nats-Msg-Id') });
    })();
    await nc.flush();
  });
  after(async () => {
    if (nc && !nc.isClosed()) await nc.close();
    await server?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  test('the message is published as JSON with the step idempotency key as Nats-Msg-Id', async () => {
    const h = harness(testDeps({ nats: nc }));
    const notify = action({ kind: 'notify', nats: { subject: 'incidents.app' }, message: 'primary isolated' });
    const result = await h.runAction(request(notify, { stepId: 'announce', epoch: 2 }));
    assert.deepEqual(result.output, { subject: 'incidents.app', delivered: true });
    const got = await waitFor(() => seen.at(-1), (m) => m !== undefined);
    assert.equal(got?.msgId, 'incident/app/primary/announce');
    assert.deepEqual(JSON.parse(got?.data ?? ''), {
      incident_id: 'incident/app/primary',
      step_id: 'announce',
      message: 'primary isolated',
      epoch: 2,
    });
  });

  test('a dry run plans the publish and sends nothing', async () => {
    const h = harness(testDeps({ nats: nc }));
    const count = seen.length;
    const result = await h.runAction(request(action({ kind: 'notify', nats: { subject: 'incidents.app' }, message: 'm' }), { dryRun: true }));
    assert.match(result.plan ?? '', /would publish \d+ bytes of JSON to NATS subject incidents\.app/);
    await nc.flush();
    assert.equal(seen.length, count);
  });

  test('a wildcard subject is refused as InvalidSpec', async () => {
    const h = harness(testDeps({ nats: nc }));
    const templated = action({ kind: 'notify', nats: { subject: '{{ params.subject }}' }, message: 'm' });
    await rejectsWith(h.runAction(request(resolved(templated, ['nats', 'subject'], 'incidents.*'))), 'InvalidSpec', true);
  });

  test('a closed connection fails retryably with NatsUnavailable', async () => {
    const other = await connect({ servers: nc.getServer() });
    await other.close();
    const h = harness(testDeps({ nats: other }));
    await rejectsWith(h.runAction(request(action({ kind: 'notify', nats: { subject: 'incidents.app' }, message: 'm' }))), 'NatsUnavailable', false);
  });
});
