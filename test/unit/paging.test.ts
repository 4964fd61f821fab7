import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { createApprovalActivities, incidentLink, noticeText, pageEvents, type ApprovalNotice } from '../../activities/notify-approvals';
import { pageDedupKey, pageEventBody, sendPages, PAGERDUTY_ATTEMPTS } from '../../activities/pagerduty';
import { ENV, loadConfig } from '../../config/config';
import { pagerDutySettings } from '../../config/paging';
import { createLogger } from '../../observability/logger';
import { startReceiver, type Receiver } from '../fixtures/activities/http-receiver';

const ROUTING_KEY = 'R0UT1NGKEYabcdef0123456789abcdef';
const CONSOLE = 'https://runbooks.example';
const INCIDENT = 'incident/db/node 1';
const LINK = 'https://runbooks.example/#/incidents/incident%2Fdb%2Fnode%201';

const notice = (over: Partial<ApprovalNotice> = {}): ApprovalNotice => ({
  event: 'requested',
  incidentId: INCIDENT,
  service: 'db',
  target: 'node 1',
  step: 'failover',
  requestId: 'req-1',
  reason: 'the runbook requires approval for this step',
  approvers: ['oncall'],
  members: ['alice'],
  timeout: '15m',
  onTimeout: 'escalate',
  type: 'approval',
  ...over,
});

let dir: string;
let receiver: Receiver;
let keyFile: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'paging-'));
  keyFile = join(dir, 'routing.key');
  writeFileSync(keyFile, `${ROUTING_KEY}\n`);
  receiver = await startReceiver();
});
after(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A logger whose lines the test reads. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { logger: createLogger('test', 'debug', out), lines: () => chunks.join('') };
}

test('the console link names the incident, encoded, under the console URL', () => {
  assert.equal(incidentLink(CONSOLE, INCIDENT), LINK);
  assert.equal(incidentLink(`${CONSOLE}/`, INCIDENT), LINK, 'a trailing slash is not doubled');
});

test('a dedup key is the incident and request, and stays within 255 characters for long incident ids', () => {
  assert.equal(pageDedupKey(INCIDENT, 'req-1'), 'incident/db/node 1/req-1');
  const long = `incident/${'s'.repeat(200)}/${'t'.repeat(200)}`;
  const key = pageDedupKey(long, '6c3e2a1b-0000-4000-8000-000000000001');
  assert.ok(key.length <= 255, `${key.length} characters`);
  assert.equal(key, pageDedupKey(long, '6c3e2a1b-0000-4000-8000-000000000001'), 'the same request gets the same key');
  assert.notEqual(key, pageDedupKey(long, '6c3e2a1b-0000-4000-8000-000000000002'), 'another request gets another key');
  assert.match(key, /^sha256:[0-9a-f]{64}\/6c3e2a1b-0000-4000-8000-000000000001$/);
});

test('an opened request triggers a page with the exact Events API v2 body', () => {
  const n = notice();
  const text = noticeText(n, LINK);
  const events = pageEvents(n, LINK, CONSOLE, text);
  assert.deepEqual(events.map((e) => e.idempotencyKey), ['req-1-requested']);
  const [only] = events;
  assert.ok(only);
  assert.deepEqual(pageEventBody(ROUTING_KEY, only.event), {
    routing_key: ROUTING_KEY,
    event_action: 'trigger',
    dedup_key: 'incident/db/node 1/req-1',
    payload: {
      summary: 'Approval needed for step failover of incident/db/node 1: the runbook requires approval for this step',
      source: 'node 1',
      severity: 'warning',
      component: 'failover',
      group: 'db',
      class: 'approval',
      custom_details: {
        incident_id: INCIDENT,
        request_id: 'req-1',
        event: 'requested',
        reason: 'the runbook requires approval for this step',
        approvers: ['oncall'],
        members: ['alice'],
        timeout: '15m',
        on_timeout: 'escalate',
        text,
      },
    },
    links: [{ href: LINK, text: 'Incident in the runbook console' }],
    client: 'self-healing-runbooks',
    client_url: CONSOLE,
  });
});

test('a decided or timed-out request resolves its own page, and nothing else', () => {
  for (const event of ['decided', 'timed_out'] as const) {
    const events = pageEvents(notice({ event, verdict: 'approve', decidedBy: ['alice'] }), LINK, CONSOLE, '');
    assert.deepEqual(
      events.map((e) => ({ key: e.idempotencyKey, body: pageEventBody(ROUTING_KEY, e.event) })),
      [{ key: `req-1-${event}`, body: { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: 'incident/db/node 1/req-1' } }],
      event,
    );
  }
});

test('a request sent on resolves the page of the one it replaces, then triggers its own', () => {
  const events = pageEvents(notice({ event: 'escalated', requestId: 'req-2', supersedes: 'req-1', approvers: ['leads'], type: 'escalation' }), LINK, CONSOLE, 'text');
  assert.deepEqual(events.map((e) => [e.event.action, e.event.action === 'resolve' ? e.event.dedupKey : e.event.facts.dedupKey, e.idempotencyKey]), [
    ['resolve', 'incident/db/node 1/req-1', 'req-1-superseded'],
    ['trigger', 'incident/db/node 1/req-2', 'req-2-escalated'],
  ]);
  const trigger = events[1]?.event;
  assert.ok(trigger?.action === 'trigger');
  assert.equal(trigger.facts.severity, 'error', 'an escalation after a failure pages as an error');
  assert.equal(trigger.facts.class, 'escalation');
});

test('notice text links to the console and offers the commands that answer the request', () => {
  const approval = noticeText(notice(), LINK).split('\n');
  assert.equal(approval.at(-1), `Console: ${LINK}`);
  assert.ok(approval.includes("Approve: runbook approve 'incident/db/node 1' --step failover --reason '…'"));
  const escalation = noticeText(notice({ type: 'escalation', reason: 'step failover failed: boom' }), LINK).split('\n');
  assert.equal(escalation[0], 'Decision needed for step failover of incident/db/node 1');
  assert.ok(escalation.includes("Retry: runbook decide 'incident/db/node 1' --step failover --action retry --reason '…'"));
  assert.equal(noticeText(notice({ event: 'decided', verdict: 'reject', decidedBy: ['alice', 'bob'] })).split('\n')[0], 'Decided: approval for step failover of incident/db/node 1: reject by alice, bob');
});

test('the notify activity pages PagerDuty with the routing key from its file, and the delivery and logs never show it', async () => {
  const roster = join(dir, 'roster.yaml');
  writeFileSync(roster, `groups:\n  oncall: { members: [alice] }\nnotify: { webhooks: ["${receiver.url}/slack"] }\n`);
  const { logger, lines } = capturedLogger();
  const activities = createApprovalActivities({ logger, rosterFile: roster, consoleUrl: CONSOLE, pagerduty: { routingKeyFile: keyFile, eventsUrl: `${receiver.url}/v2/enqueue` } });
  const from = receiver.requests.length;
  receiver.queued.push({ status: 200, body: '{}' }, { status: 202, body: '{"status":"success","message":"Event processed","dedup_key":"incident/db/node 1/req-1"}' });
  const delivery = await activities.notifyApproval(notice());
  const got = receiver.requests.slice(from);
  assert.deepEqual(got.map((r) => r.path), ['/slack', '/v2/enqueue']);
  assert.deepEqual(JSON.parse(got[0]?.body ?? ''), { text: noticeText(notice(), LINK) });
  const page = JSON.parse(got[1]?.body ?? '') as Record<string, unknown>;
  assert.equal(page.routing_key, ROUTING_KEY, 'PagerDuty gets the key');
  assert.equal(page.dedup_key, 'incident/db/node 1/req-1');
  assert.equal(got[1]?.headers['idempotency-key'], 'req-1-requested');
  assert.deepEqual(delivery, {
    webhooks: [{ url: `${receiver.url}/slack`, ok: true }],
    command: "runbook approve 'incident/db/node 1' --step failover --reason '…'",
    link: LINK,
    pagerduty: [{ action: 'trigger', dedupKey: 'incident/db/node 1/req-1', ok: true, status: 202, attempts: 1 }],
  });
  assert.ok(!JSON.stringify(delivery).includes(ROUTING_KEY));
  assert.ok(!lines().includes(ROUTING_KEY));
});

test('429 and 5xx answers are tried again a bounded number of times, then reported without the routing key', async () => {
  const { logger, lines } = capturedLogger();
  const settings = { routingKeyFile: keyFile, eventsUrl: `${receiver.url}/v2/enqueue` };
  const resolve = [{ event: { action: 'resolve' as const, dedupKey: 'incident/db/node 1/req-1' }, idempotencyKey: 'req-1-decided' }];

  let from = receiver.requests.length;
  receiver.queued.push({ status: 429, body: '{"status":"throttle"}' }, { status: 202, body: '{"status":"success"}' });
  const retried = await sendPages(settings, resolve, logger, 1);
  assert.deepEqual(retried, [{ action: 'resolve', dedupKey: 'incident/db/node 1/req-1', ok: true, status: 202, attempts: 2 }]);
  assert.deepEqual(receiver.requests.slice(from).map((r) => r.headers['idempotency-key']), ['req-1-decided', 'req-1-decided'], 'the same key on every try');

  from = receiver.requests.length;
  for (let i = 0; i < PAGERDUTY_ATTEMPTS; i++) receiver.queued.push({ status: 503, body: `{"echo":"${ROUTING_KEY}"}` });
  const [failed] = await sendPages(settings, resolve, logger, 1);
  assert.equal(receiver.requests.length - from, PAGERDUTY_ATTEMPTS);
  assert.equal(failed?.ok, false);
  assert.equal(failed?.status, 503);
  assert.match(failed?.error ?? '', /answered 503: \{"echo":"\*\*\*"\}/);

  from = receiver.requests.length;
  receiver.queued.push({ status: 400, body: `{"status":"invalid event","errors":["routing key ${ROUTING_KEY} unknown"]}` });
  const [refused] = await sendPages(settings, resolve, logger, 1);
  assert.equal(receiver.requests.length - from, 1, 'a 400 is not tried again');
  assert.equal(refused?.attempts, 1);
  assert.ok(!JSON.stringify([failed, refused]).includes(ROUTING_KEY));
  assert.match(lines(), /pagerduty event failed/);
  assert.ok(!lines().includes(ROUTING_KEY), 'the logs never hold the routing key');
});

test('a routing key file that cannot be read fails the page, not the other channels', async () => {
  const { logger } = capturedLogger();
  const roster = join(dir, 'roster-hook.yaml');
  writeFileSync(roster, `groups:\n  oncall: { members: [alice] }\nnotify: { webhooks: ["${receiver.url}/slack"] }\n`);
  const activities = createApprovalActivities({ logger, rosterFile: roster, pagerduty: { routingKeyFile: join(dir, 'absent.key'), eventsUrl: `${receiver.url}/v2/enqueue` } });
  const from = receiver.requests.length;
  const delivery = await activities.notifyApproval(notice({ event: 'decided', verdict: 'approve', decidedBy: ['alice'] }));
  assert.deepEqual(receiver.requests.slice(from).map((r) => r.path), ['/slack']);
  assert.deepEqual(delivery.webhooks, [{ url: `${receiver.url}/slack`, ok: true }]);
  assert.equal(delivery.link, 'http://127.0.0.1:9120/#/incidents/incident%2Fdb%2Fnode%201', 'without a console URL the default one');
  assert.equal(delivery.pagerduty?.length, 1);
  assert.equal(delivery.pagerduty?.[0]?.ok, false);
  assert.match(delivery.pagerduty?.[0]?.error ?? '', /routing key file .*absent\.key cannot be read \(ENOENT\)/);
});

test('paging is on only with a routing key file; the console URL defaults to the approval API port', () => {
  const plain = loadConfig({}, {});
  assert.equal(pagerDutySettings(plain), undefined);
  assert.equal(plain.consoleUrl, 'http://127.0.0.1:9120');
  assert.equal(loadConfig({}, { [ENV.apiPort]: '9300' }).consoleUrl, 'http://127.0.0.1:9300');
  const paging = loadConfig({}, { [ENV.pagerdutyRoutingKeyFile]: 'deploy/pagerduty.key', [ENV.consoleUrl]: CONSOLE });
  assert.equal(paging.consoleUrl, CONSOLE);
  assert.deepEqual(pagerDutySettings(paging), { routingKeyFile: join(process.cwd(), 'deploy/pagerduty.key'), eventsUrl: 'https://events.pagerduty.com/v2/enqueue' });
  assert.throws(() => loadConfig({}, { [ENV.pagerdutyEventsUrl]: 'ftp://x' }), /RUNBOOK_PAGERDUTY_EVENTS_URL: must be an http\(s\) URL/);
});
