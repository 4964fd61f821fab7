import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { HDR } from '../../intake/dead-letter';
import { getDeadLetter, listDeadLetters } from '../../intake/dead-letter-store';
import { DEAD_LETTER_STREAM, UNHANDLED_STREAM } from '../../intake/streams';
import { MAX_EVENT_BYTES } from '../../schemas/fault-event';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { faultsOf, incidentIds, metricValue, natsFor, publishFault, publishRaw, testFault, waitForDrained } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

let stack: TestStack;
let connection: Connection;
let client: Client;
let nc: NatsConnection;

before(async () => {
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks') } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
  nc = await natsFor(stack);
});

after(async () => {
  await nc?.close();
  await connection?.close();
  await stack?.stop();
});

const intakePort = (): number => stack.config.intakePort;
const decoder = new TextDecoder();

function intakeProcessRunning(): boolean {
  return stack.stack.processes.find((p) => p.name === 'intake')?.isRunning() === true;
}

/** Waits for the dead letter of the fault-stream message `seq` and returns it. */
async function deadLetterFor(seq: number): Promise<Awaited<ReturnType<typeof getDeadLetter>>> {
  const jsm = await nc.jetstreamManager();
  let found: Awaited<ReturnType<typeof getDeadLetter>> | undefined;
  await waitFor(`a dead letter for fault message ${seq}`, 20_000, async () => {
    found = (await listDeadLetters(jsm, 1_000)).find((l) => l.originalSeq === seq);
    return found !== undefined;
  }, 200);
  assert.ok(found);
  return found;
}

describe('invalid events', () => {
  const valid = { id: 'dl-base', source: 'intake-test', service: 'dlsvc', target: 'node-1', kind: 'intake_test', severity: 'warning', observedAt: '2024-05-01T12:00:00Z' };
  const cases: { name: string; body: string; reason: string; field: RegExp }[] = [
    { name: 'malformed JSON', body: '{"id": "dl-1", "service": ', reason: 'not_json', field: /\(root\): body is not JSON/ },
    { name: 'a wrong type', body: JSON.stringify({ ...valid, id: 'dl-2', severity: 5 }), reason: 'invalid', field: /severity: / },
    { name: 'a missing field', body: JSON.stringify({ ...valid, id: 'dl-3', target: undefined }), reason: 'invalid', field: /target: is required/ },
    { name: 'an oversized payload', body: JSON.stringify({ ...valid, id: 'dl-4', annotations: { blob: 'x'.repeat(MAX_EVENT_BYTES) } }), reason: 'too_large', field: /\(root\): body is \d+ bytes; the limit is 65536/ },
    { name: 'a target containing a newline', body: JSON.stringify({ ...valid, id: 'dl-5', target: 'node-1\nreboot' }), reason: 'invalid', field: /target: must be a safe identifier/ },
    { name: "a target containing ';'", body: JSON.stringify({ ...valid, id: 'dl-6', target: 'node-1;reboot' }), reason: 'invalid', field: /target: must be a safe identifier/ },
    { name: 'a target containing $(…)', body: JSON.stringify({ ...valid, id: 'dl-7', target: '$(reboot)' }), reason: 'invalid', field: /target: must be a safe identifier/ },
    { name: 'a target containing spaces', body: JSON.stringify({ ...valid, id: 'dl-8', target: 'node 1' }), reason: 'invalid', field: /target: must be a safe identifier/ },
  ];

  for (const c of cases) {
    test(`${c.name} reaches the dead-letter stream with its original bytes and an error naming the field`, async () => {
      const seq = await publishRaw(nc, 'faults.dlsvc.intake_test', c.body);
      const letter = await deadLetterFor(seq);
      assert.equal(decoder.decode(letter.data), c.body);
      assert.equal(letter.reason, c.reason);
      assert.equal(letter.originalSubject, 'faults.dlsvc.intake_test');
      assert.match(letter.error, c.field);
      assert.ok(!Number.isNaN(Date.parse(letter.time)));
      assert.ok(intakeProcessRunning(), 'the intake keeps running');
    });
  }

  test('an event with several problems gets one error naming every failing field path', async () => {
    const body = JSON.stringify({ ...valid, id: 'dl-9', target: 'a b', severity: 'loud', labels: { zone: 'z'.repeat(2_000) }, extra: 1 });
    const letter = await deadLetterFor(await publishRaw(nc, 'faults.dlsvc.intake_test', body));
    for (const path of ['target', 'severity', 'labels.zone', 'extra']) assert.match(letter.error, new RegExp(`(^|; )${path.replace('.', '\\.')}: `), `${path} in ${letter.error}`);
  });

  test('no incident is opened for an invalid event, the dead-lettered counter moves and the intake stays healthy', async () => {
    await waitForDrained(nc, 20_000);
    assert.deepEqual(await incidentIds(client, 'dlsvc'), []);
    assert.ok((await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="dead_lettered"}')) >= cases.length);
    const health = await fetch(`http://127.0.0.1:${intakePort()}/healthz`);
    assert.equal(health.status, 200);
  });

  test('runbook dead-letters lists them and show prints one in full', async () => {
    const listed = await runCli(['dead-letters', '--json', '--limit', '100'], stack.env);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { id: number; reason: string; error: string; originalSubject: string; preview: string; time: string }[];
    const wrongType = rows.find((r) => r.preview.includes('"dl-2"'));
    assert.ok(wrongType, listed.stdout);
    assert.equal(wrongType.reason, 'invalid');
    assert.equal(wrongType.originalSubject, 'faults.dlsvc.intake_test');
    assert.match(wrongType.error, /severity/);

    const shown = await runCli(['dead-letters', 'show', String(wrongType.id), '--json'], stack.env);
    assert.equal(shown.code, 0, shown.stderr);
    const full = JSON.parse(shown.stdout) as { original: string };
    assert.equal(full.original, cases[1]?.body);

    const table = await runCli(['dead-letters'], stack.env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /ID\s+TIME\s+REASON/);
  });

  test('runbook dead-letters replay re-injects the original bytes on the original subject and removes the dead letter', async () => {
    const jsm = await nc.jetstreamManager();
    const missingTarget = (await listDeadLetters(jsm, 1_000)).find((l) => decoder.decode(l.data).includes('"dl-3"'));
    assert.ok(missingTarget);
    const replayed = await runCli(['dead-letters', 'replay', String(missingTarget.id), '--json'], stack.env);
    assert.equal(replayed.code, 0, replayed.stderr);
    const result = JSON.parse(replayed.stdout) as { subject: string; seq: number };
    assert.equal(result.subject, 'faults.dlsvc.intake_test');
    assert.ok(result.seq > (missingTarget.originalSeq ?? 0), 'published anew, not swallowed as a duplicate');

    await assert.rejects(getDeadLetter(jsm, missingTarget.id), { name: 'DeadLetterNotFoundError' });
    // Still invalid, so the intake refuses it again: same bytes, new fault message.
    const again = await deadLetterFor(result.seq);
    assert.deepEqual(again.data, missingTarget.data);

    const gone = await runCli(['dead-letters', 'show', String(missingTarget.id)], stack.env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no dead letter/);
  });

  test('the dead-letter records carry the reason, subject, time and error as headers next to the bytes', async () => {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(DEAD_LETTER_STREAM);
    const m = await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq: info.state.last_seq });
    for (const h of [HDR.reason, HDR.error, HDR.originalSubject, HDR.receivedAt]) assert.ok(m.header.get(h), h);
  });
});

describe('routing', () => {
  test('an event no runbook matches is recorded as unhandled and counted, and opens no incident', async () => {
    const before = await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="unhandled"}');
    const event = testFault({ id: 'unrouted-1', service: 'unroutedsvc', kind: 'unrouted_fault' });
    await publishFault(nc, event);
    const jsm = await nc.jetstreamManager();
    let stored: { subject: string; data: Uint8Array; eventId: string } | undefined;
    await waitFor('the unhandled record', 20_000, async () => {
      const info = await jsm.streams.info(UNHANDLED_STREAM);
      if (info.state.messages === 0) return false;
      const m = await jsm.streams.getMessage(UNHANDLED_STREAM, { last_by_subj: 'faults_unhandled.unroutedsvc.unrouted_fault' }).catch(() => undefined);
      if (m) stored = { subject: m.subject, data: m.data, eventId: m.header.get(HDR.eventId) };
      return m !== undefined;
    }, 200);
    assert.equal(stored?.eventId, 'unrouted-1');
    assert.equal(JSON.parse(decoder.decode(stored?.data)).id, 'unrouted-1');
    await waitFor('the unhandled counter', 10_000, async () => (await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="unhandled"}')) > before);
    assert.deepEqual(await incidentIds(client, 'unroutedsvc'), []);
  });
});

describe('coalescing', () => {
  test('500 events for 5 targets, shuffled and published concurrently, make exactly 5 incidents that each know how many events they absorbed', async () => {
    const targets = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const events = targets.flatMap((target) =>
      Array.from({ length: 100 }, (_, i) => testFault({ id: `storm-${target}-${i}`, service: 'stormsvc', target, severity: i === 57 ? 'critical' : 'warning' })),
    );
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [events[i], events[j]] = [events[j] as (typeof events)[number], events[i] as (typeof events)[number]];
    }
    const acks = await Promise.all(events.map((e) => publishFault(nc, e)));
    assert.equal(acks.filter((a) => a.duplicate).length, 0);

    const expected = targets.map((t) => `incident/stormsvc/${t}`);
    await waitFor('every incident to have absorbed its 100 events', 90_000, async () => {
      const counts = await Promise.all(expected.map((id) => faultsOf(client, id)));
      return counts.every((f) => f?.count === 100);
    }, 500);
    await waitForDrained(nc, 30_000);
    await waitFor('the list of incidents to show all five', 15_000, async () => (await incidentIds(client, 'stormsvc')).length >= 5, 250);
    assert.deepEqual(await incidentIds(client, 'stormsvc'), expected);
    for (const id of expected) {
      const faults = await faultsOf(client, id);
      assert.equal(faults?.count, 100, id);
      assert.equal(faults?.severity, 'critical', `${id}: severity is only ever raised`);
    }
    assert.ok((await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="started"}')) >= 5);
    assert.ok((await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="coalesced"}')) >= 1);
  });

  test('the same event id published twice is processed once', async () => {
    const event = testFault({ id: 'twice-1', service: 'twicesvc', target: 'node-9' });
    const first = await publishFault(nc, event);
    const second = await publishFault(nc, event);
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true, 'JetStream drops the repeat within its duplicate window');
    // A repeat that got past the window (published without Nats-Msg-Id) is still absorbed once.
    await publishFault(nc, event, false);
    await waitForDrained(nc, 20_000);
    await waitFor('the incident to answer', 20_000, async () => (await faultsOf(client, 'incident/twicesvc/node-9')) !== undefined, 200);
    assert.equal((await faultsOf(client, 'incident/twicesvc/node-9'))?.count, 1);
    assert.deepEqual(await incidentIds(client, 'twicesvc'), ['incident/twicesvc/node-9']);
    assert.ok((await metricValue(intakePort(), 'runbook_intake_events_total', '{outcome="duplicate"}')) >= 1);
  });

  test('the backlog gauge and the handoff latency histogram are exported', async () => {
    const text = await (await fetch(`http://127.0.0.1:${intakePort()}/metrics`)).text();
    assert.match(text, /runbook_intake_backlog\{state="pending"\} \d+/);
    assert.match(text, /runbook_intake_backlog\{state="unacked"\} \d+/);
    assert.match(text, /runbook_intake_handoff_seconds_count [1-9]\d*/);
  });
});
