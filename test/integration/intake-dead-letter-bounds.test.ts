import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nanos, type NatsConnection } from 'nats';
import { ENV } from '../../config/config';
import { ATTEMPTS_EXHAUSTED } from '../../intake/dead-letter';
import { getDeadLetter, listDeadLetters, type DeadLetter } from '../../intake/dead-letter-store';
import { DEFAULT_MAX_ACK_PENDING, EARLIER_MAX_ACK_PENDING, FAULTS_STREAM, INTAKE_CONSUMER, intakeConsumerConfig, streamConfigs } from '../../intake/streams';
import type { ManagedProcess } from '../../stack/managed-process';
import { freePorts } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { metricValue, natsFor, publishFault, publishRaw, startIntake, testFault, waitForDrained } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';

/** Deliveries the intake allows in this test: the least the server accepts with four backoff steps. */
const MAX_DELIVER = 5;

let stack: TestStack;
let nc: NatsConnection;
let intake: ManagedProcess | undefined;
let port: number;

before(async () => {
  stack = await startTestStack({ worker: false, intake: false, overrides: { runbooksDir: join(PROJECT_ROOT, 'test/fixtures/intake/runbooks') } });
  nc = await natsFor(stack);
  // An install from before deliveries were bounded: the consumer allows unlimited deliveries. Its
  // redelivery backoff is tuned away, as an operator may: with a backoff the server spaces even
  // nacked redeliveries along it (minutes for five), without one it honours the intake's nak delays.
  const jsm = await nc.jetstreamManager();
  for (const cfg of streamConfigs()) await jsm.streams.add(cfg);
  // The stack provisioned today's consumer; put the old one in its place.
  await jsm.consumers.delete(FAULTS_STREAM, INTAKE_CONSUMER);
  await jsm.consumers.add(FAULTS_STREAM, { ...intakeConsumerConfig(), max_deliver: -1, max_ack_pending: EARLIER_MAX_ACK_PENDING, backoff: [], ack_wait: nanos(10_000) });
  [port] = (await freePorts(1)) as [number];
  // A namespace the server does not have: Temporal answers, and refuses every hand-off at once.
  intake = await startIntake(stack, 'intake-bounded', port, {
    [ENV.namespace]: 'no-such-namespace',
    [ENV.intakeMaxDeliver]: String(MAX_DELIVER),
    [ENV.intakeNakBaseMs]: '50',
    [ENV.intakeNakMaxMs]: '200',
  });
});

after(async () => {
  await intake?.stop();
  await nc?.close();
  await stack?.stop();
});

/** Waits for the dead letter of the fault-stream message `seq` and returns it. */
async function deadLetterFor(seq: number): Promise<DeadLetter> {
  const jsm = await nc.jetstreamManager();
  let found: DeadLetter | undefined;
  await waitFor(`a dead letter for fault message ${seq}`, 30_000, async () => {
    found = (await listDeadLetters(jsm, 1_000)).find((l) => l.originalSeq === seq);
    return found !== undefined;
  }, 200);
  assert.ok(found);
  return found;
}

describe('bounded deliveries', () => {
  test('an existing consumer with unlimited deliveries is bounded at start-up, its earlier pending-ack room raised; a setting the operator tuned is kept and reported', async () => {
    const info = await (await nc.jetstreamManager()).consumers.info(FAULTS_STREAM, INTAKE_CONSUMER);
    assert.equal(info.config.max_deliver, MAX_DELIVER);
    assert.equal(info.config.max_ack_pending, DEFAULT_MAX_ACK_PENDING);
    assert.deepEqual(info.config.backoff ?? [], [], 'the tuned backoff is left alone');
    assert.equal(await metricValue(port, 'runbook_intake_config_drift'), 1, 'only the backoff drifts');
  });

  test('an event whose hand-off keeps failing is dead-lettered as delivery_attempts_exhausted after exactly max_deliver deliveries, and acked', async () => {
    const retriedBefore = await metricValue(port, 'runbook_intake_events_total', '{outcome="retried"}');
    const event = testFault({ id: 'exhaust-1', service: 'exhaustsvc', target: 'node-1' });
    const { seq } = await publishFault(nc, event);
    const letter = await deadLetterFor(seq);
    assert.equal(letter.reason, ATTEMPTS_EXHAUSTED);
    assert.equal(letter.deliveries, MAX_DELIVER);
    assert.match(letter.error, new RegExp(`^gave up after ${MAX_DELIVER} deliveries; last error: Temporal did not accept the event: .*no-such-namespace`));
    assert.equal(JSON.parse(new TextDecoder().decode(letter.data)).id, 'exhaust-1', 'the original bytes are kept whole');
    assert.equal(letter.truncated, false);
    await waitForDrained(nc, 20_000);
    assert.equal((await metricValue(port, 'runbook_intake_events_total', '{outcome="retried"}')) - retriedBefore, MAX_DELIVER - 1, 'nacked on every delivery but the last');
    const info = await (await nc.jetstreamManager()).consumers.info(FAULTS_STREAM, INTAKE_CONSUMER);
    assert.equal(info.num_redelivered, 0);
  });
});

describe('dead letters too big to keep whole', () => {
  let seq: number;
  let original: Uint8Array;
  let sha256: string;

  before(async () => {
    const maxPayload = nc.info?.max_payload;
    assert.ok(maxPayload, 'the server announced its max_payload');
    original = new TextEncoder().encode(`{"id": "huge-1", "blob": "${'x'.repeat(maxPayload - 64 - 26)}`);
    assert.equal(original.byteLength, maxPayload - 64);
    sha256 = createHash('sha256').update(original).digest('hex');
    seq = await publishRaw(nc, 'faults.hugesvc.intake_test', original);
  });

  test('an event just under max_payload reaches the dead letters truncated, with its full size and sha256, and nothing is left unacked', async () => {
    const letter = await deadLetterFor(seq);
    assert.equal(letter.truncated, true);
    assert.equal(letter.size, original.byteLength);
    assert.equal(letter.sha256, sha256);
    assert.ok(letter.data.byteLength < original.byteLength);
    assert.ok(letter.data.byteLength > original.byteLength - 16 * 1024, `kept ${letter.data.byteLength} bytes`);
    assert.deepEqual(letter.data, original.subarray(0, letter.data.byteLength));
    await waitForDrained(nc, 20_000);
  });

  test('runbook dead-letters lists it with its size, sha256 and TRUNCATED; show says what was kept', async () => {
    const listed = await runCli(['dead-letters', '--json'], stack.env);
    assert.equal(listed.code, 0, listed.stderr);
    const row = (JSON.parse(listed.stdout) as { id: number; originalSeq?: number; size: number; sha256: string; truncated: boolean; storedBytes: number }[]).find((r) => r.originalSeq === seq);
    assert.ok(row, listed.stdout.slice(0, 2_000));
    assert.equal(row.size, original.byteLength);
    assert.equal(row.sha256, sha256);
    assert.equal(row.truncated, true);
    assert.ok(row.storedBytes < row.size);

    const table = await runCli(['dead-letters'], stack.env);
    assert.equal(table.code, 0, table.stderr);
    const line = table.stdout.split('\n').find((l) => l.startsWith(`${row.id} `));
    assert.ok(line, table.stdout);
    assert.match(line, new RegExp(`\\b${original.byteLength} TRUNCATED\\b`));
    assert.ok(line.includes(sha256.slice(0, 12)), line);

    const shown = await runCli(['dead-letters', 'show', String(row.id)], stack.env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^size: +${original.byteLength} bytes$`, 'm'));
    assert.match(shown.stdout, new RegExp(`^sha256: +${sha256}$`, 'm'));
    assert.match(shown.stdout, /^TRUNCATED: only the first \d+ of \d+ bytes were kept/m);
  });

  test('replaying a truncated dead letter is refused, and the dead letter is kept', async () => {
    const jsm = await nc.jetstreamManager();
    const letter = await deadLetterFor(seq);
    const replayed = await runCli(['dead-letters', 'replay', String(letter.id)], stack.env);
    assert.equal(replayed.code, 1);
    assert.match(replayed.stderr, /is truncated: .*the original is gone/);
    assert.equal((await getDeadLetter(jsm, letter.id)).sha256, sha256);
  });
});

describe('dead letters carrying terminal escape sequences', () => {
  /** What must never reach the operator's terminal raw: ESC, BEL and the right-to-left override. */
  const RAW = /[\u001b\u0007\u202e]/u;
  const escapes = ['\\x1b]0;pwned\\x07', '\\x1b[2J', '\\u202e'];
  let notJson: number;
  let badField: number;

  before(async () => {
    // Raw control bytes inside a JSON string: not JSON, kept as the producer sent them.
    notJson = await publishRaw(nc, 'faults.escsvc.intake_test', '{"id": "esc-1", "target": "\x1b]0;pwned\x07\x1b[2J\u202eevil"}');
    // Valid JSON whose unknown field name decodes to the same characters, so the error quotes them.
    badField = await publishRaw(nc, 'faults.escsvc.intake_test', JSON.stringify({ ...testFault({ id: 'esc-2', service: 'escsvc' }), '\x1b]0;pwned\x07\x1b[2J\u202e': 1 }));
  });

  test('runbook dead-letters and show print escapes instead of the raw characters', async () => {
    const first = await deadLetterFor(notJson);
    const second = await deadLetterFor(badField);
    assert.ok(RAW.test(new TextDecoder().decode(first.data)), 'the stored original keeps the raw bytes');
    assert.ok(RAW.test(second.error), 'the stored error quotes the field name as sent');

    const table = await runCli(['dead-letters', '--limit', '1000'], stack.env);
    assert.equal(table.code, 0, table.stderr);
    assert.doesNotMatch(table.stdout, RAW);
    for (const id of [first.id, second.id]) {
      const line = table.stdout.split('\n').find((l) => l.startsWith(`${id} `));
      assert.ok(line, table.stdout.slice(0, 2_000));
      for (const escape of escapes) assert.ok(line.includes(escape), `${escape} in ${line}`);
    }

    for (const id of [first.id, second.id]) {
      const shown = await runCli(['dead-letters', 'show', String(id)], stack.env);
      assert.equal(shown.code, 0, shown.stderr);
      assert.doesNotMatch(shown.stdout, RAW);
      for (const escape of escapes) assert.ok(shown.stdout.includes(escape), `${escape} in ${shown.stdout}`);
    }

    const json = await runCli(['dead-letters', 'show', String(first.id), '--json'], stack.env);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, RAW);
    assert.equal((JSON.parse(json.stdout) as { original: string }).original, new TextDecoder().decode(first.data), 'the JSON still carries the original exactly');
  });
});
