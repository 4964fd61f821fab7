import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { createToken } from '../../config/tokens';
import { MAX_ALERTMANAGER_BODY_BYTES } from '../../intake/alertmanager';
import { listDeadLetters, type DeadLetter } from '../../intake/dead-letter-store';
import { FAULTS_STREAM } from '../../intake/streams';
import { MAX_EVENT_BYTES } from '../../schemas/fault-event';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { assertNotPolluted, DEEP, nestedArrays, nestedObjects } from '../helpers/hostile-input';
import { postBody } from '../helpers/http-post';
import { faultsOf, incidentIds, metricValue, natsFor, publishRaw, waitForDrained, webhookAuthorization } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * A barrage of hostile fault messages and webhook bodies against the real
 * intake, NATS and Temporal: every message published is accounted for
 * (handed to an incident or dead-lettered with a reason naming the field and
 * the original bytes), and the intake keeps working afterwards. Oversized
 * webhook and decision bodies sent to the intake and approval API processes
 * are answered 413 naming the limit, however they are sent.
 */

let stack: TestStack;
let connection: Connection;
let client: Client;
let nc: NatsConnection;
const tokensDir = mkdtempSync(join(tmpdir(), 'hostile-tokens-'));
const tokensFile = join(tokensDir, 'tokens.yaml');
let apiToken = '';

before(async () => {
  apiToken = await createToken(tokensFile, 'alice');
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks'), tokensFile } });
  connection = await Connection.connect({ address: stack.config.temporalAddress });
  client = new Client({ connection, namespace: stack.config.namespace });
  nc = await natsFor(stack);
});

after(async () => {
  await nc?.close();
  await connection?.close();
  await stack?.stop();
  rmSync(tokensDir, { recursive: true, force: true });
});

const SUBJECT = 'faults.hostile.intake_test';
const SETTLED = ['started', 'coalesced', 'resolved', 'resolved_no_incident', 'dead_lettered', 'unhandled', 'duplicate'] as const;
const encoder = new TextEncoder();
const fault = (id: string, target: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id, source: 'hostile-test', service: 'hostile', target, kind: 'intake_test', severity: 'warning', observedAt: new Date().toISOString(), ...extra,
});
const raw = (value: Record<string, unknown>, splice: string): string => `${JSON.stringify(value).slice(0, -1)},${splice}}`;

async function settledCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const outcome of [...SETTLED, 'retried']) out[outcome] = await metricValue(stack.config.intakePort, 'runbook_intake_events_total', `{outcome="${outcome}"}`);
  return out;
}

function intakeRunning(): boolean {
  return stack.stack.processes.find((p) => p.name === 'intake')?.isRunning() === true;
}

async function healthy(): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${stack.config.intakePort}/healthz`, { signal: AbortSignal.timeout(2_000) });
  return res.status === 200;
}

test('a 10 MiB fault message is refused at publish and nothing of it is stored', async () => {
  const jsm = await nc.jetstreamManager();
  const before = (await jsm.streams.info(FAULTS_STREAM)).state.last_seq;
  await assert.rejects(publishRaw(nc, SUBJECT, new Uint8Array(10 * 1024 * 1024)), /max_payload|MAX_PAYLOAD/i);
  assert.equal((await jsm.streams.info(FAULTS_STREAM)).state.last_seq, before);
});

test('every hostile fault message is dead-lettered naming the field or handed on, and the counts add up exactly', async () => {
  const nearLimit = 1024 * 1024 - 8 * 1024;
  const hostile: { body: string; reason: string; error: RegExp }[] = [
    { body: '{"id":"h-1","service":', reason: 'not_json', error: /^\(root\): body is not JSON/ },
    { body: JSON.stringify(fault('h-2', 'node-1')).slice(0, 50), reason: 'not_json', error: /^\(root\): body is not JSON/ },
    { body: JSON.stringify(fault('h-3', 'node-1', { severity: 7 })), reason: 'invalid', error: /^severity: / },
    { body: JSON.stringify(fault('h-4', 'node-1', { observedAt: undefined, kind: undefined })), reason: 'invalid', error: /^kind: is required; observedAt: / },
    { body: raw(fault('h-5', 'node-1'), `"annotations":{"blob":"${'x'.repeat(200 * 1024)}"}`), reason: 'too_large', error: new RegExp(`the limit is ${MAX_EVENT_BYTES}`) },
    { body: raw(fault('h-6', 'node-1'), `"annotations":{"blob":"${'x'.repeat(nearLimit)}"}`), reason: 'too_large', error: new RegExp(`the limit is ${MAX_EVENT_BYTES}`) },
    { body: nestedArrays(DEEP), reason: 'invalid', error: /^\(root\): expected a JSON object, got array$/ },
    { body: raw(fault('h-8', 'node-1'), `"labels":{"zone":${nestedArrays(DEEP)}}`), reason: 'invalid', error: /^labels\.zone: expected string, got array$/ },
    { body: raw(fault('h-9', 'node-1'), `"extra":${nestedObjects(DEEP)}`), reason: 'invalid', error: /^extra: is not an allowed field$/ },
    { body: JSON.stringify(fault('h-10', 'node-1\nshutdown sessions')), reason: 'invalid', error: /^target: must be a safe identifier/ },
    { body: JSON.stringify(fault('h-11', 'node\u200b1')), reason: 'invalid', error: /^target: must be a safe identifier/ },
    { body: JSON.stringify(fault('h-12', 'node-1', { service: 'x; rm -rf /' })), reason: 'invalid', error: /^service: must be a safe identifier/ },
    { body: JSON.stringify(fault('h-13', '$(reboot)')), reason: 'invalid', error: /^target: must be a safe identifier/ },
    { body: JSON.stringify(fault('h-14', 'node-1', { runbook: '../../etc/passwd' })), reason: 'invalid', error: /^runbook: must be a safe identifier/ },
    { body: JSON.stringify(fault('h-15', 'node-1', { labels: { 'a\u0000b': 'x' } })), reason: 'invalid', error: /^labels\.a\u0000b: invalid key/ },
    { body: raw(fault('h-16', 'node-1'), '"__proto__":{"polluted":"yes"}'), reason: 'invalid', error: /^__proto__: is not an allowed field$/ },
    { body: raw(fault('h-17', 'node-1'), '"labels":{"constructor":{"polluted":"yes"}}'), reason: 'invalid', error: /^labels\.constructor: expected string, got object$/ },
  ];
  const valid = [
    JSON.stringify(fault('h-ok-1', 'node-1', { labels: { note: '; rm -rf / $(x) `y` | z && ../..' } })),
    raw(fault('h-ok-2', 'node-2'), '"labels":{"__proto__":"p","constructor":"c","prototype":"q"}'),
    JSON.stringify(fault('h-ok-3', 'node-3')),
  ];
  const before = await settledCounts();

  const seqs = new Map<number, (typeof hostile)[number]>();
  const sent: string[] = [];
  for (const h of hostile) {
    seqs.set(await publishRaw(nc, SUBJECT, h.body), h);
    sent.push(h.body);
  }
  for (const body of valid) {
    sent.push(body);
    await publishRaw(nc, SUBJECT, body);
  }
  await waitForDrained(nc, 30_000);

  let letters: DeadLetter[] = [];
  await waitFor('a dead letter for every hostile message', 20_000, async () => {
    letters = (await listDeadLetters(await nc.jetstreamManager(), 1_000)).filter((l) => l.originalSeq !== undefined && seqs.has(l.originalSeq));
    return letters.length >= hostile.length;
  }, 200);
  assert.equal(letters.length, hostile.length, 'one dead letter per hostile message, none twice');
  for (const letter of letters) {
    const h = seqs.get(letter.originalSeq ?? -1);
    assert.ok(h);
    assert.equal(letter.reason, h.reason, h.body.slice(0, 80));
    assert.match(letter.error, h.error);
    assert.equal(letter.originalSubject, SUBJECT);
    assert.equal(letter.size, encoder.encode(h.body).byteLength);
    assert.equal(letter.sha256, createHash('sha256').update(h.body).digest('hex'), 'the digest of the original bytes');
    // Whole, or (over the server's max_payload with the headers) its leading bytes, marked truncated.
    if (letter.truncated) assert.deepEqual(letter.data, encoder.encode(h.body).subarray(0, letter.data.byteLength));
    else assert.equal(new TextDecoder().decode(letter.data), h.body, 'the original bytes');
  }

  await waitFor('the three valid events to open incidents', 30_000, async () => (await incidentIds(client, 'hostile')).length === 3, 250);
  assert.deepEqual(await incidentIds(client, 'hostile'), ['incident/hostile/node-1', 'incident/hostile/node-2', 'incident/hostile/node-3']);
  for (const id of await incidentIds(client, 'hostile')) assert.equal((await faultsOf(client, id))?.count, 1, id);

  const after = await settledCounts();
  const delta = (outcome: string): number => (after[outcome] ?? 0) - (before[outcome] ?? 0);
  assert.equal(delta('dead_lettered'), hostile.length);
  assert.equal(delta('started') + delta('coalesced'), valid.length);
  assert.equal(SETTLED.reduce((n, o) => n + delta(o), 0), sent.length, 'every message settled exactly once');
  assert.equal(delta('retried'), 0, 'nothing was given back for want of a handoff');
  assertNotPolluted();
  assert.ok(intakeRunning() && (await healthy()));
});

test('hostile webhook bodies get clear 4xx answers or are dead-lettered, and the receiver keeps working', async () => {
  const url = `http://127.0.0.1:${stack.config.intakePort}/alertmanager`;
  const headers = { authorization: webhookAuthorization(stack), 'content-type': 'application/json' };
  const truncated = await postBody(url, '{"status":"firing","alerts":[{"status"', headers);
  assert.equal(truncated.status, 400);
  assert.match(String(truncated.json.error), /\(root\): body is not JSON/);
  const mistyped = await postBody(url, '{"status":"firing","alerts":[{"status":"firing","labels":{"x":1},"startsAt":"2024-05-01T12:00:00Z"}]}', headers);
  assert.equal(mistyped.status, 400);
  assert.match(String(mistyped.json.error), /alerts\.0\.labels\.x: expected string, got number/);

  const deep = `{"status":"firing","receiver":"ops","alerts":[{"status":"firing","labels":{"alertname":"NodeDown","__proto__":"p"},"startsAt":"2024-05-01T12:00:00Z","values":${nestedArrays(DEEP)}}]}`;
  const res = await postBody(url, deep, headers);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.equal((res.json.rejected as unknown[]).length, 1);
  await waitFor('the unmappable alert in the dead-letter stream', 10_000, async () =>
    (await listDeadLetters(await nc.jetstreamManager(), 1_000)).some((l) => l.reason === 'unmappable_alert' && new TextDecoder().decode(l.data) === deep), 200);
  assertNotPolluted();
  assert.ok(intakeRunning() && (await healthy()));
});

const OVERSIZED = [['1 MiB + 1 byte', MAX_ALERTMANAGER_BODY_BYTES + 1], ['10 MiB', 10 * 1024 * 1024]] as const;

for (const [name, size] of OVERSIZED) {
  for (const chunked of [false, true]) {
    test(`a ${name} webhook body ${chunked ? 'streamed without Content-Length' : 'with Content-Length'} gets 413 naming the limit from the intake process`, async () => {
      const headers = { authorization: webhookAuthorization(stack), 'content-type': 'application/json' };
      const res = await postBody(`http://127.0.0.1:${stack.config.intakePort}/alertmanager`, 'x'.repeat(size), headers, chunked);
      assert.equal(res.status, 413);
      assert.deepEqual(res.json, { error: `body exceeds the limit of ${MAX_ALERTMANAGER_BODY_BYTES} bytes` });
      assert.ok(intakeRunning() && (await healthy()));
    });
  }
}

for (const [name, size] of OVERSIZED) {
  for (const chunked of [false, true]) {
    test(`a ${name} decision body ${chunked ? 'streamed without Content-Length' : 'with Content-Length'} gets 413 naming the limit from the approval API process`, async () => {
      const headers = { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' };
      const body = JSON.stringify({ verdict: 'approve', step: 'isolate', reason: 'x'.repeat(size) });
      const res = await postBody(`http://127.0.0.1:${stack.config.apiPort}/incidents/hostile/node-1/decisions`, body, headers, chunked);
      assert.equal(res.status, 413);
      assert.deepEqual(res.json, { error: 'body larger than 16384 bytes' });
      assert.equal(stack.stack.processes.find((p) => p.name === 'api')?.isRunning(), true);
    });
  }
}

test('after the barrage a valid event still starts an incident', async () => {
  await publishRaw(nc, SUBJECT, JSON.stringify(fault('h-after', 'node-after')));
  await waitFor('the incident of the valid event', 20_000, async () => (await faultsOf(client, 'incident/hostile/node-after'))?.count === 1, 250);
  assert.ok(intakeRunning() && (await healthy()));
});
