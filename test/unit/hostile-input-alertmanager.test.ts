import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JetStreamClient, MsgHdrs } from 'nats';
import { Registry } from 'prom-client';
import { HDR } from '../../intake/dead-letter';
import { intakeHttpRoutes } from '../../intake/http-routes';
import { createIntakeMetrics } from '../../intake/metrics';
import { DEAD_LETTER_SUBJECT } from '../../intake/streams';
import { webhookAuthenticator } from '../../intake/webhook-auth';
import { closeHttpServer, startHttpServer } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { createRateLimiter } from '../../observability/rate-limit';
import { DEFAULT_ALERTMANAGER_MAPPING } from '../../schemas/alertmanager';
import { SAFE_ID_PATTERN } from '../../schemas/identifiers';
import { freePorts } from '../../stack/ports';
import { assertNotPolluted, DEEP, HOSTILE_NAMES, nestedArrays, PROTOTYPE_KEYS } from '../helpers/hostile-input';
import { postBody } from '../helpers/http-post';

/*
 * The intake's HTTP routes in this process, with JetStream stood in for by a
 * recorder: what a hostile webhook body gets back, and what would be stored.
 */

const TOKEN = 'hostile-webhook-token';
const dir = mkdtempSync(join(tmpdir(), 'hostile-am-'));
const published: { subject: string; data: Uint8Array; headers: MsgHdrs | undefined }[] = [];
let server: Server;
let port = 0;

before(async () => {
  [port = 0] = await freePorts(1);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const js = {
    publish: (subject: string, data: Uint8Array, opts?: { headers?: MsgHdrs }) => {
      published.push({ subject, data, headers: opts?.headers });
      return Promise.resolve({ seq: published.length, duplicate: false, stream: 'test' });
    },
  } as unknown as JetStreamClient;
  server = await startHttpServer(port, intakeHttpRoutes({
    js,
    logger: createLogger('hostile-am', 'error'),
    metrics: createIntakeMetrics(new Registry()),
    mapping: DEFAULT_ALERTMANAGER_MAPPING,
    auth: await webhookAuthenticator({ auth: 'required', tokenFile }),
    limiter: createRateLimiter({ capacity: 10_000, refillPerSecond: 1_000 }),
    problem: () => undefined,
  }));
});

after(async () => {
  if (server) await closeHttpServer(server);
  rmSync(dir, { recursive: true, force: true });
});

const UNMAPPABLE = `${DEAD_LETTER_SUBJECT}.unmappable_alert`;
const url = (): string => `http://127.0.0.1:${port}/alertmanager`;
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const alert = (labels: Record<string, string>, extra = ''): string =>
  `{"status":"firing","labels":${JSON.stringify(labels)},"startsAt":"2024-05-01T12:00:00Z"${extra}}`;
const notification = (alerts: string[], extra = ''): string => `{"status":"firing","receiver":"ops","alerts":[${alerts.join(',')}]${extra}}`;
const good = { alertname: 'NodeDown', service: 'web', instance: 'web-1' };

function eventsSince(mark: number): Record<string, unknown>[] {
  return published.slice(mark).filter((p) => p.subject.startsWith('faults.')).map((p) => JSON.parse(new TextDecoder().decode(p.data)) as Record<string, unknown>);
}

describe('oversized webhook bodies get 413 with the limit', () => {
  for (const [name, size] of [['1 MiB', 1024 * 1024 + 1], ['10 MiB', 10 * 1024 * 1024]] as const) {
    for (const chunked of [false, true]) {
      test(`${name}${chunked ? ', streamed without Content-Length' : ''}`, async () => {
        const mark = published.length;
        const res = await postBody(url(), 'x'.repeat(size), headers, chunked);
        assert.equal(res.status, 413);
        assert.equal(res.json.error, 'body exceeds the limit of 1048576 bytes');
        assert.equal(published.length, mark, 'nothing stored');
      });
    }
  }
});

describe('malformed webhook bodies get 400 naming the field', () => {
  const cases: { name: string; body: string; error: RegExp }[] = [
    { name: 'truncated JSON', body: notification([alert(good)]).slice(0, 30), error: /\(root\): body is not JSON/ },
    { name: 'an empty body', body: '', error: /\(root\): body is not JSON/ },
    { name: 'a missing alerts field', body: '{"status":"firing"}', error: /alerts: is required/ },
    { name: 'mistyped alert fields', body: notification(['{"status":3,"labels":[],"startsAt":5}']), error: /alerts\.0\.status: .*alerts\.0\.labels: expected record, got array.*alerts\.0\.startsAt: /s },
    { name: 'a numeric label value', body: notification([alert(good).replace('"web-1"', '7')]), error: /alerts\.0\.labels\.instance: expected string, got number/ },
    { name: `alerts nested ${DEEP} levels deep`, body: `{"status":"firing","alerts":${nestedArrays(DEEP)}}`, error: /alerts\.0: / },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const mark = published.length;
      const res = await postBody(url(), c.body, headers);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.match(String(res.json.error), /^not an Alertmanager webhook payload: /);
      assert.match(String(res.json.error), c.error);
      assert.equal(published.length, mark, 'nothing stored');
    });
  }
});

describe('deeply nested extras neither crash the receiver nor lose the alert', () => {
  test(`an unmappable alert with an extra field nested ${DEEP} levels is dead-lettered, not a 500`, async () => {
    const mark = published.length;
    const body = notification([alert({ alertname: 'NodeDown' }, `,"values":${nestedArrays(DEEP)}`), alert(good)]);
    const res = await postBody(url(), body, headers);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.stored, 1);
    assert.deepEqual((res.json.rejected as { index: number }[]).map((r) => r.index), [0]);
    const letters = published.slice(mark).filter((p) => p.subject === UNMAPPABLE);
    assert.equal(letters.length, 1, 'the unmappable alert is kept as a dead letter');
    assert.match(letters[0]?.headers?.get(HDR.error) ?? '', /no value for service/);
    assert.equal(new TextDecoder().decode(letters[0]?.data), body, 'too deep to re-encode alone, so the whole notification is kept as sent');
  });

  test(`a mappable alert with an extra field nested ${DEEP} levels is stored without it`, async () => {
    const mark = published.length;
    const res = await postBody(url(), notification([alert(good, `,"values":${nestedArrays(DEEP)}`)], `,"extra":${nestedArrays(DEEP)}`), headers);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(eventsSince(mark).length, 1);
    assert.equal(eventsSince(mark)[0]?.values, undefined);
  });
});

describe('hostile label values become safe identifiers or stay data', () => {
  for (const { what, value } of HOSTILE_NAMES) {
    test(`a service and instance label with ${what}`, async () => {
      const mark = published.length;
      const res = await postBody(url(), notification([alert({ alertname: value, service: value, instance: value, runbook: value })]), headers);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const [event] = eventsSince(mark);
      assert.ok(event);
      for (const field of ['service', 'target'] as const) assert.match(String(event[field]), SAFE_ID_PATTERN, `${field} ${JSON.stringify(event[field])}`);
      assert.match(String(event.kind), /^[A-Za-z0-9_][A-Za-z0-9_:-]{0,63}$/);
      assert.equal(event.runbook, undefined, 'an unsafe runbook hint is dropped, never used');
      assert.equal((event.labels as Record<string, string>).service, value, 'the label itself is kept verbatim as data');
    });
  }
});

describe('__proto__, constructor and prototype keys in a notification', () => {
  for (const key of PROTOTYPE_KEYS) {
    test(`${key} as a label, an annotation, an alert field and a payload field pollutes nothing`, async () => {
      const mark = published.length;
      const k = JSON.stringify(key);
      const body = `{"status":"firing",${k}:{"polluted":"yes"},"commonLabels":{${k}:"c"},"alerts":[{"status":"firing",${k}:{"polluted":"yes"},"labels":{${k}:"l","alertname":"NodeDown","service":"web","instance":"web-1"},"annotations":{${k}:"a"},"startsAt":"2024-05-01T12:00:00Z"}]}`;
      const res = await postBody(url(), body, headers);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const [event] = eventsSince(mark);
      assert.ok(event);
      assert.ok(Object.hasOwn(event.labels as object, key), 'the label is kept as an own key');
      assert.equal(Object.getOwnPropertyDescriptor(event.labels, key)?.value, 'l');
      assert.equal(Object.getOwnPropertyDescriptor(event.annotations, key)?.value, 'a');
      assertNotPolluted();
    });

    test(`${key} keeps its place in an unmappable alert's dead letter`, async () => {
      const mark = published.length;
      const k = JSON.stringify(key);
      const sent = `{"status":"firing",${k}:{"polluted":"yes"},"labels":{${k}:"l"},"startsAt":"2024-05-01T12:00:00Z"}`;
      const res = await postBody(url(), notification([sent]), headers);
      assert.equal(res.status, 200, JSON.stringify(res.json));
      const letter = published.slice(mark).find((p) => p.subject === UNMAPPABLE);
      assert.ok(letter);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(letter.data)), JSON.parse(sent), 'the alert as sent, every key included');
      assertNotPolluted();
    });
  }
});

test('after all of it the intake still answers /healthz and stores a valid alert', async () => {
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  const mark = published.length;
  const res = await postBody(url(), notification([alert({ ...good, instance: 'web-after' })]), headers);
  assert.equal(res.status, 200);
  assert.equal(eventsSince(mark)[0]?.target, 'web-after');
});
