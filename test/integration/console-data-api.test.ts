import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AuditRecord } from '../../audit/audit-record';
import { readAuditEvents } from '../../audit/audit-stream';
import { storeDeadLetter } from '../../intake/dead-letter';
import { listDeadLetters } from '../../intake/dead-letter-store';
import { DEAD_LETTER_STREAM } from '../../intake/streams';
import { CONTROL_BUCKET, PAUSE_KEY } from '../../schemas/control-bucket';
import { waitFor } from '../../stack/wait-for';
import { runbookFrom, sideEffect, testFault } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';

/*
 * The console's data routes over HTTP on the real stack: Temporal, NATS, an
 * in-process worker, and the API as NATS role `api`, with a bearer token.
 */

let env: EngineStack;
const INCIDENT = 'incident/console-a/node-1';

before(async () => {
  env = await startEngineStack({ roster: 'groups:\n  oncall: { members: [alice] }\n', users: ['alice'], auditToStream: true });
});

after(() => env?.close());

function call(path: string, init: { method?: string; body?: object } = {}): Promise<Response> {
  return fetch(`${env.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${env.tokens['alice'] ?? ''}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
}

async function json<T>(path: string, init: { method?: string; body?: object } = {}, status = 200): Promise<T> {
  const res = await call(path, init);
  const text = await res.text();
  assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}: ${text}`);
  return JSON.parse(text) as T;
}

async function openIncident(): Promise<void> {
  const node = JSON.stringify(process.execPath);
  const runbook = runbookFrom(`
name: console-held
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: act
    action: { kind: command, argv: ${sideEffect(join(env.dir, 'act.log'), 'act')} }
    approval: true
`);
  const handle = await env.h.start(runbook, testFault('console-a', 'node-1'));
  await env.h.waitForStatus(handle, 'awaiting_approval');
}

test('a pause and a resume over HTTP write the identity, reason and channel to the control bucket and the audit stream', async () => {
  const paused = await json<{ paused: boolean; by: string; reason: string; channel: string }>('/control/pause', { method: 'POST', body: { reason: ' deploy freeze ' } });
  assert.deepEqual([paused.paused, paused.by, paused.reason, paused.channel], [true, 'alice', 'deploy freeze', 'http']);
  const kv = await env.nc.jetstream().views.kv(CONTROL_BUCKET);
  const stored = (await kv.get(PAUSE_KEY))?.json<Record<string, unknown>>();
  assert.deepEqual([stored?.['paused'], stored?.['by'], stored?.['reason'], stored?.['channel']], [true, 'alice', 'deploy freeze', 'http']);
  assert.equal((await json<{ paused: boolean }>('/control')).paused, true);
  await json('/control/resume', { method: 'POST', body: { reason: 'freeze over' } });
  assert.equal((await kv.get(PAUSE_KEY))?.json<{ paused: boolean }>().paused, false);
  const events = await readAuditEvents(env.nc, 'operations');
  assert.deepEqual(events.filter((e) => e.event.startsWith('control.')).map((e) => [e.event, e['by'], e['channel'], e['reason']]), [
    ['control.paused', 'alice', 'http', 'deploy freeze'],
    ['control.resumed', 'alice', 'http', 'freeze over'],
  ]);
});

test('a dead letter is listed, shown and replayed onto its fault subject, then is gone', async () => {
  const original = JSON.stringify({ ...testFault('console-dl', 'node-1'), id: 'console-dl-1' });
  await storeDeadLetter(env.nc.jetstream(), { data: new TextEncoder().encode(original), originalSubject: 'faults.console-dl.node_down', originalSeq: 1 }, 'invalid', 'severity: stand-in refusal', 'console-dl-1');
  const [stored] = (await listDeadLetters(await env.nc.jetstreamManager(), 100)).filter((l) => l.originalSubject === 'faults.console-dl.node_down');
  assert.ok(stored);
  const listed = await json<{ deadLetters: { id: number; preview: string; reason: string }[] }>('/dead-letters?limit=50');
  const entry = listed.deadLetters.find((l) => l.id === stored.id);
  assert.equal(entry?.reason, 'invalid');
  assert.ok(entry?.preview.startsWith('{"'));
  const shown = await json<{ original: string; originalBase64: string; error: string }>(`/dead-letters/${stored.id}`);
  assert.equal(shown.original, original);
  assert.equal(Buffer.from(shown.originalBase64, 'base64').toString(), original);
  const replayed = await json<{ id: number; subject: string; stream: string; seq: number }>(`/dead-letters/${stored.id}/replay`, { method: 'POST', body: {} });
  assert.deepEqual([replayed.id, replayed.subject, replayed.stream], [stored.id, 'faults.console-dl.node_down', 'FAULTS']);
  assert.ok(replayed.seq > 0);
  await json(`/dead-letters/${stored.id}`, {}, 404);
  await json(`/dead-letters/${stored.id}/replay`, { method: 'POST' }, 404);
  assert.equal((await env.nc.jetstreamManager().then((m) => m.streams.info(DEAD_LETTER_STREAM))).config.name, DEAD_LETTER_STREAM);
  const events = await readAuditEvents(env.nc, 'operations');
  assert.ok(events.some((e) => e.event === 'dead_letter.replayed' && e['deadLetterId'] === stored.id && e['by'] === 'alice' && e['channel'] === 'http'));
});

test('an incident\'s audit record, a schedule with its next and last run, and the drills are read as the CLI shows them', async () => {
  await openIncident();
  const record = await json<unknown>(`/incidents/${encodeURIComponent(INCIDENT)}/audit`);
  const parsed = AuditRecord.parse(record);
  assert.equal(parsed.incidentId, INCIDENT);
  assert.equal(parsed.status, 'awaiting_approval');
  assert.deepEqual(await json('/incidents/console-a/node-1/audit'), record);
  await json('/incidents/console-none/node-1/audit', {}, 404);
  const scheduleId = 'console-hand-made';
  await env.h.client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1h' }] },
    action: { type: 'startWorkflow', workflowType: 'consoleNothing', taskQueue: 'console-nobody-polls', args: [] },
    state: { note: 'made by the console test' },
  });
  await env.h.client.schedule.getHandle(scheduleId).trigger();
  type Listed = { scheduleId: string; origin: string; paused: boolean; when: string; note?: string; nextRun?: string; lastRun?: { at: string; workflowId: string } };
  let mine: Listed | undefined;
  await waitFor('the triggered run in GET /schedules', 20_000, async () => {
    mine = (await json<{ schedules: Listed[] }>('/schedules')).schedules.find((x) => x.scheduleId === scheduleId);
    return mine?.lastRun !== undefined;
  }, 200);
  assert.ok(mine);
  assert.deepEqual([mine.origin, mine.paused, mine.note], ['manual', false, 'made by the console test']);
  assert.match(mine.when, /^every /);
  assert.ok(mine.nextRun !== undefined && Date.parse(mine.nextRun) > Date.now());
  assert.match(mine.lastRun?.workflowId ?? '', new RegExp(`^${scheduleId}`));
  const { reports } = await json<{ reports: unknown[] }>('/drills');
  assert.ok(Array.isArray(reports));
});

test('/events sends the incident list, the incident and the pause switch, with the security headers', async () => {
  const stop = new AbortController();
  const res = await fetch(`${env.apiUrl}/events?open=true&incident=${encodeURIComponent(INCIDENT)}`, { headers: { authorization: `Bearer ${env.tokens['alice'] ?? ''}` }, signal: stop.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const reader = res.body?.getReader();
  assert.ok(reader);
  const seen = new Map<string, unknown>();
  let buffer = '';
  await waitFor('an incidents, an incident and a control event', 30_000, async () => {
    const { value, done } = await reader.read();
    if (done) throw new Error('the stream ended');
    buffer += new TextDecoder().decode(value);
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (\w+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) seen.set(event, JSON.parse(data));
    }
    return seen.has('incidents') && seen.has('incident') && seen.has('control');
  }, 0);
  stop.abort();
  const list = seen.get('incidents') as { incidents: { incidentId: string }[] };
  assert.ok(list.incidents.some((i) => i.incidentId === INCIDENT));
  assert.equal((seen.get('incident') as { incidentId: string; status: string }).status, 'awaiting_approval');
  assert.equal((seen.get('control') as { paused: boolean }).paused, false);
  const unknown = await call('/events?incident=incident/console-none/node-1');
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});
