import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { readAuditEvents, readAuditWindow } from '../../audit/audit-stream';
import { credentialsDir, passwordFile } from '../../config/nats-credentials';
import { DEAD_LETTER_STREAM, FAULTS_STREAM, INTAKE_CONSUMER } from '../../intake/streams';
import { CONTROL_BUCKET, PAUSE_KEY } from '../../schemas/control-bucket';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
const open: NatsConnection[] = [];

before(async () => {
  stack = await startTestStack();
});

after(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await stack?.stop();
});

async function as(role: Parameters<TestStack['natsConnect']>[0]): Promise<NatsConnection> {
  const nc = await stack.natsConnect(role, { name: `perm-${role}` });
  open.push(nc);
  return nc;
}

/** The server's refusal of a publish (or request) on `subject`, as nats.js reports it. */
function violation(subject: string): RegExp {
  return new RegExp(`Permissions Violation for Publish to "${subject.replaceAll('$', '\\$').replaceAll('.', '\\.')}"`);
}

const fault = (id: string): string => JSON.stringify({ id, source: 'perm-test', service: 'perm', target: 'node-1', kind: 'perm_test', severity: 'warning', observedAt: new Date().toISOString() });

test('a connection without credentials is refused', async () => {
  await assert.rejects(connect({ servers: stack.config.natsUrl, reconnect: false }), { code: 'AUTHORIZATION_VIOLATION' });
});

test('a wrong password is refused', async () => {
  await assert.rejects(connect({ servers: stack.config.natsUrl, user: 'producer', pass: 'not-the-password', reconnect: false }), { code: 'AUTHORIZATION_VIOLATION' });
});

test('the generated password files are readable by their owner only', async () => {
  const { statSync } = await import('node:fs');
  const mode = statSync(passwordFile(credentialsDir(stack.config.stateDir), 'producer')).mode & 0o777;
  assert.equal(mode, 0o600);
});

describe('producer', () => {
  test('publishes a fault and gets the PubAck', async () => {
    const p = await as('producer');
    const ack = await p.jetstream().publish('faults.perm.perm_test', fault('perm-1'), { msgID: 'perm-1' });
    assert.equal(ack.stream, FAULTS_STREAM);
    assert.ok(ack.seq > 0);
  });

  test('cannot pause remediation (control bucket put refused)', async () => {
    const p = await as('producer');
    await assert.rejects(p.jetstream().publish(`$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`, '{"paused":true}'), violation(`$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`));
  });

  test('cannot read the audit stream', async () => {
    const p = await as('producer');
    await assert.rejects(p.request('$JS.API.STREAM.INFO.RUNBOOK_AUDIT', '', { timeout: 5_000 }), violation('$JS.API.STREAM.INFO.RUNBOOK_AUDIT'));
    await assert.rejects(p.request('$JS.API.STREAM.MSG.GET.RUNBOOK_AUDIT', '{"seq":1}', { timeout: 5_000 }), violation('$JS.API.STREAM.MSG.GET.RUNBOOK_AUDIT'));
  });

  test('cannot delete or purge a stream', async () => {
    const p = await as('producer');
    await assert.rejects(p.request(`$JS.API.STREAM.DELETE.${FAULTS_STREAM}`, '', { timeout: 5_000 }), violation(`$JS.API.STREAM.DELETE.${FAULTS_STREAM}`));
    await assert.rejects(p.request(`$JS.API.STREAM.PURGE.${FAULTS_STREAM}`, '', { timeout: 5_000 }), violation(`$JS.API.STREAM.PURGE.${FAULTS_STREAM}`));
  });

  test("cannot subscribe to another role's inbox", async () => {
    const p = await as('producer');
    const refused = new Promise<Error>((resolve) => {
      p.subscribe('_INBOX_worker.>', { callback: (err) => err && resolve(err) });
    });
    assert.match((await refused).message, /Permissions Violation for Subscription to "_INBOX_worker\.>"/);
  });
});

describe('intake', () => {
  test('consumes the FAULTS stream and writes the dead-letter stream', async () => {
    const p = await as('producer');
    await p.jetstream().publish('faults.perm.perm_test', fault('perm-2'), { msgID: 'perm-2' });
    const i = await as('intake');
    const consumer = await i.jetstream().consumers.get(FAULTS_STREAM, INTAKE_CONSUMER);
    const m = await consumer.next({ expires: 5_000 });
    assert.ok(m, 'the intake pulled a message');
    assert.equal(await m.ackAck(), true);
    const ack = await i.jetstream().publish('faults_dead.invalid_json', 'x');
    assert.equal(ack.stream, DEAD_LETTER_STREAM);
  });

  test('cannot write the control bucket nor delete or purge streams', async () => {
    const i = await as('intake');
    await assert.rejects(i.jetstream().publish(`$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`, '{}'), violation(`$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`));
    const jsm = await i.jetstreamManager();
    await assert.rejects(jsm.streams.delete(FAULTS_STREAM), violation(`$JS.API.STREAM.DELETE.${FAULTS_STREAM}`));
    await assert.rejects(jsm.streams.purge(DEAD_LETTER_STREAM), violation(`$JS.API.STREAM.PURGE.${DEAD_LETTER_STREAM}`));
  });
});

describe('worker', () => {
  test('reads the control bucket, writes the effects bucket and the audit stream, and publishes notices', async () => {
    const w = await as('worker');
    const control = await w.jetstream().views.kv(CONTROL_BUCKET);
    await control.get(PAUSE_KEY);
    const effects = await w.jetstream().views.kv('runbook_effects');
    await effects.create(`perm-${Date.now()}`, '{"state":"started"}');
    const ack = await w.jetstream().publish('audit.perm.node-1.perm_test', '{"event":"perm_test","incidentId":"incident/perm/node-1","at":"now"}');
    assert.equal(ack.stream, 'RUNBOOK_AUDIT');
    // The availability gauges read the stream back through an ordered consumer.
    assert.ok((await readAuditWindow(w, { since: new Date(Date.now() - 60_000), service: 'perm' })).events.every((e) => typeof e.event === 'string'));
    w.publish('runbook.approvals.requested', '{}');
    await w.flush();
  });

  test('publishes backup_stale and replication_lag faults, the kinds its own watches raise', async () => {
    const w = await as('worker');
    const ack = await w.jetstream().publish('faults.perm.backup_stale', fault('perm-backup'));
    assert.equal(ack.stream, FAULTS_STREAM);
    const lag = await w.jetstream().publish('faults.perm.replication_lag', fault('perm-replication'));
    assert.equal(lag.stream, FAULTS_STREAM);
  });

  test('cannot pause, publish faults or delete streams', async () => {
    const w = await as('worker');
    const control = await w.jetstream().views.kv(CONTROL_BUCKET);
    await assert.rejects(control.put(PAUSE_KEY, '{}'), violation(`$KV.${CONTROL_BUCKET}.${PAUSE_KEY}`));
    await assert.rejects(w.jetstream().publish('faults.perm.perm_test', fault('perm-3')), violation('faults.perm.perm_test'));
    await assert.rejects((await w.jetstreamManager()).streams.delete(FAULTS_STREAM), violation(`$JS.API.STREAM.DELETE.${FAULTS_STREAM}`));
  });
});

describe('operator', () => {
  test('pauses, reads dead letters and the audit stream', async () => {
    const o = await as('operator');
    const control = await o.jetstream().views.kv(CONTROL_BUCKET);
    await control.put(PAUSE_KEY, JSON.stringify({ paused: false, by: 'perm-test', at: new Date().toISOString() }));
    const jsm = await o.jetstreamManager();
    assert.ok((await jsm.streams.info(DEAD_LETTER_STREAM)).config.name === DEAD_LETTER_STREAM);
    const events = await readAuditEvents(o, 'incident/perm/node-1');
    assert.ok(events.some((e) => e.event === 'perm_test'), 'the event the worker wrote is read back');
  });

  test('cannot delete or purge streams, nor write the audit stream', async () => {
    const o = await as('operator');
    const jsm = await o.jetstreamManager();
    await assert.rejects(jsm.streams.delete('RUNBOOK_AUDIT'), violation('$JS.API.STREAM.DELETE.RUNBOOK_AUDIT'));
    await assert.rejects(jsm.streams.purge(FAULTS_STREAM), violation(`$JS.API.STREAM.PURGE.${FAULTS_STREAM}`));
    await assert.rejects(o.jetstream().publish('audit.perm.node-1.forged', '{}'), violation('audit.perm.node-1.forged'));
  });
});

describe('api', () => {
  test('writes decision events, sets the pause switch, reads dead letters and the audit stream, and replays faults', async () => {
    const a = await as('api');
    const decision = JSON.stringify({ event: 'decision.accepted', incidentId: 'incident/perm/node-1', at: new Date().toISOString() });
    assert.equal((await a.jetstream().publish('audit.perm.node-1.decision.accepted', decision)).stream, 'RUNBOOK_AUDIT');
    const control = await a.jetstream().views.kv(CONTROL_BUCKET);
    await control.put(PAUSE_KEY, JSON.stringify({ paused: false, by: 'perm-test', at: new Date().toISOString(), channel: 'http' }));
    assert.equal((await control.get(PAUSE_KEY))?.json<{ by: string }>().by, 'perm-test');
    assert.equal((await (await a.jetstreamManager()).streams.info(DEAD_LETTER_STREAM)).config.name, DEAD_LETTER_STREAM);
    assert.ok((await readAuditEvents(a, 'incident/perm/node-1')).some((e) => e.event === 'decision.accepted'));
    assert.equal((await a.jetstream().publish('faults.perm.perm_test', fault('perm-4'))).stream, FAULTS_STREAM);
  });

  test('cannot write other control keys, read the fault stream, or delete streams', async () => {
    const a = await as('api');
    const control = await a.jetstream().views.kv(CONTROL_BUCKET);
    await assert.rejects(control.put('other', '{}'), violation(`$KV.${CONTROL_BUCKET}.other`));
    await assert.rejects(a.request(`$JS.API.STREAM.INFO.${FAULTS_STREAM}`, '', { timeout: 5_000 }), violation(`$JS.API.STREAM.INFO.${FAULTS_STREAM}`));
    await assert.rejects((await a.jetstreamManager()).streams.delete(DEAD_LETTER_STREAM), violation(`$JS.API.STREAM.DELETE.${DEAD_LETTER_STREAM}`));
  });
});

describe('admin', () => {
  test('may create and delete streams', async () => {
    const jsm = await (await as('admin')).jetstreamManager();
    await jsm.streams.add({ name: 'PERM_SCRATCH', subjects: ['perm_scratch.>'] });
    assert.equal(await jsm.streams.purge('PERM_SCRATCH').then((r) => r.success), true);
    assert.equal(await jsm.streams.delete('PERM_SCRATCH'), true);
  });
});
