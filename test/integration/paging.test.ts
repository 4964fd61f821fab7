import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Subscription } from 'nats';
import { waitFor } from '../../stack/wait-for';
import { approve, decide } from '../../workflows/messages';
import { runbookFrom, sideEffect, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';
import { startReceiver, type Receiver } from '../fixtures/activities/http-receiver';

/*
 * Every request for a human, on the real stack, reaches NATS, the
 * Slack-compatible webhook and PagerDuty (a local receiver standing in for
 * both HTTP services): a trigger when the request opens, a resolve with the
 * same dedup key when it is decided or times out.
 */

const node = JSON.stringify(process.execPath);
const ROUTING_KEY = 'paging-test-routing-key-0123456789';
const CONSOLE = 'http://console.test:8443';

let receiver: Receiver;
let keyDir: string | undefined;
let setup: EngineStack | undefined;
let h: EngineHarness;
let sub: Subscription | undefined;
const published: { subject: string; body: Record<string, unknown> }[] = [];

before(async () => {
  receiver = await startReceiver();
  receiver.respond.status = 202;
  receiver.respond.body = '{"status":"success","message":"Event processed"}';
  keyDir = mkdtempSync(join(tmpdir(), 'paging-key-'));
  const routingKeyFile = join(keyDir, 'routing.key');
  writeFileSync(routingKeyFile, `${ROUTING_KEY}\n`);
  setup = await startEngineStack({
    roster: `groups:
  oncall: { members: [alice] }
notify: { subject: runbook.paging, webhooks: ["${receiver.url}/slack"] }
`,
    overrides: { consoleUrl: CONSOLE, pagerdutyRoutingKeyFile: routingKeyFile, pagerdutyEventsUrl: `${receiver.url}/v2/enqueue` },
  });
  h = setup.h;
  const s = setup.nc.subscribe('runbook.paging.>');
  sub = s;
  void (async () => {
    for await (const m of s) published.push({ subject: m.subject, body: m.json() });
  })();
});

after(async () => {
  sub?.unsubscribe();
  await setup?.close();
  await receiver.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

const linkOf = (id: string): string => `${CONSOLE}/#/incidents/${encodeURIComponent(id)}`;

/** What the receiver got for one incident, in order: Slack texts and PagerDuty bodies. */
function received(id: string): { slack: string[]; pages: Record<string, unknown>[] } {
  const slack: string[] = [];
  const pages: Record<string, unknown>[] = [];
  for (const r of receiver.requests) {
    const body = JSON.parse(r.body) as Record<string, unknown>;
    if (r.path === '/slack' && typeof body.text === 'string' && body.text.includes(` of ${id}`)) slack.push(body.text);
    if (r.path === '/v2/enqueue' && String(body.dedup_key).startsWith(`${id}/`)) pages.push(body);
  }
  return { slack, pages };
}

async function receivedWhen(id: string, what: string, check: (got: ReturnType<typeof received>) => boolean): Promise<ReturnType<typeof received>> {
  await waitFor(what, 30_000, () => check(received(id)));
  return received(id);
}

const noticesOf = (id: string) => published.filter((p) => p.body.incidentId === id);

/** The request the incident waits on, once it is open. */
async function openRequest(id: string): Promise<string> {
  const state = await h.stateWhere(id, 'a request to open', (s) => s.requests.some((r) => r.outcome === undefined));
  const open = state.requests.find((r) => r.outcome === undefined);
  assert.ok(open);
  return open.requestId;
}

function approvalRunbook(name: string, log: string, approval: string): ReturnType<typeof runbookFrom> {
  return runbookFrom(`
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
    approval: ${approval}
`);
}

test('an approval request triggers a page, the Slack message and the NATS notice, all linking the console; the approval resolves the same page', async () => {
  const id = 'incident/pg-a/node-1';
  const handle = await h.start(approvalRunbook('paged-approval', join(setup?.dir ?? '', 'a.log'), '{ approvers: [oncall], timeout: 1h, on_timeout: reject }'), testFault('pg-a', 'node-1'));
  const requestId = await openRequest(id);
  const dedup = `${id}/${requestId}`;
  const opened = await receivedWhen(id, 'the trigger', (g) => g.pages.length === 1 && g.slack.length === 1);
  const text = [
    `Approval needed for step act of ${id}`,
    'Reason: the runbook requires approval for this step',
    'Approvers: oncall (alice)',
    'Times out after 1h, then reject.',
    `Approve: runbook approve ${id} --step act --reason '…'`,
    `Reject:  runbook reject ${id} --step act --reason '…'`,
    `Console: ${linkOf(id)}`,
  ].join('\n');
  assert.deepEqual(opened.slack, [text]);
  assert.deepEqual(opened.pages, [
    {
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: dedup,
      payload: {
        summary: `Approval needed for step act of ${id}: the runbook requires approval for this step`,
        source: 'node-1',
        severity: 'warning',
        component: 'act',
        group: 'pg-a',
        class: 'approval',
        custom_details: { incident_id: id, request_id: requestId, event: 'requested', reason: 'the runbook requires approval for this step', approvers: ['oncall'], members: ['alice'], timeout: '1h', on_timeout: 'reject', text },
      },
      links: [{ href: linkOf(id), text: 'Incident in the runbook console' }],
      client: 'self-healing-runbooks',
      client_url: CONSOLE,
    },
  ]);
  await waitFor('the NATS notice', 30_000, () => noticesOf(id).length === 1);
  assert.deepEqual(noticesOf(id)[0], {
    subject: 'runbook.paging.requested',
    body: {
      event: 'requested',
      incidentId: id,
      service: 'pg-a',
      target: 'node-1',
      step: 'act',
      requestId,
      reason: 'the runbook requires approval for this step',
      approvers: ['oncall'],
      members: ['alice'],
      timeout: '1h',
      onTimeout: 'reject',
      type: 'approval',
      text,
      command: `runbook approve ${id} --step act --reason '…'`,
      link: linkOf(id),
    },
  });

  await handle.signal(approve, h.signed(id, 'approve', { step: 'act', by: 'alice', channel: 'test', reason: 'go', requestId }));
  assert.equal((await handle.result()).outcome, 'healed');
  const decided = await receivedWhen(id, 'the resolve', (g) => g.pages.length === 2);
  assert.deepEqual(decided.pages[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: dedup });
  assert.equal(decided.slack[1]?.split('\n')[0], `Decided: approval for step act of ${id}: approve by alice`);
  await waitFor('the decided notice', 30_000, () => noticesOf(id).length === 2);
  assert.equal(noticesOf(id)[1]?.subject, 'runbook.paging.decided');
  assert.equal(noticesOf(id)[1]?.body.verdict, 'approve');
  assert.deepEqual(noticesOf(id)[1]?.body.decidedBy, ['alice']);
});

test('an approval that times out resolves its page', async () => {
  const id = 'incident/pg-b/node-1';
  const handle = await h.start(approvalRunbook('paged-timeout', join(setup?.dir ?? '', 'b.log'), '{ approvers: [oncall], timeout: 2s, on_timeout: reject }'), testFault('pg-b', 'node-1'));
  const requestId = await openRequest(id);
  assert.equal((await handle.result()).outcome, 'approval timeout at act');
  const got = await receivedWhen(id, 'the trigger and the resolve', (g) => g.pages.length === 2);
  assert.deepEqual(
    got.pages.map((p) => [p.event_action, p.dedup_key]),
    [
      ['trigger', `${id}/${requestId}`],
      ['resolve', `${id}/${requestId}`],
    ],
  );
  assert.deepEqual(got.pages[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `${id}/${requestId}` });
  assert.equal(got.slack[1]?.split('\n')[0], `Timed out: approval for step act of ${id} (reject)`);
  await waitFor('the timed_out notice', 30_000, () => noticesOf(id).some((n) => n.subject === 'runbook.paging.timed_out'));
});

test('an escalation after a step finally failed notifies on NATS, the webhook and PagerDuty; the abort resolves the page', async () => {
  const id = 'incident/pg-c/node-1';
  const log = join(setup?.dir ?? '', 'c.log');
  const handle = await h.start(
    runbookFrom(`
name: paged-escalation
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}], escalation: { timeout: 1h } }
steps:
  - id: broken
    action: { kind: command, argv: ${sideEffect(log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }
    on_failure: escalate
`),
    testFault('pg-c', 'node-1'),
  );
  const requestId = await openRequest(id);
  const dedup = `${id}/${requestId}`;
  const opened = await receivedWhen(id, 'the escalation to page', (g) => g.pages.length === 1 && g.slack.length === 1);
  const state = await h.state(handle);
  const reason = state.requests[0]?.reason ?? '';
  assert.match(reason, /^step broken failed: /);
  const text = [
    `Decision needed for step broken of ${id}`,
    `Reason: ${reason}`,
    'Approvers: oncall (alice)',
    'Times out after 1h, then abort.',
    `Retry: runbook decide ${id} --step broken --action retry --reason '…'`,
    `Skip:  runbook decide ${id} --step broken --action skip --reason '…'`,
    `Abort: runbook decide ${id} --step broken --action abort --reason '…'`,
    `Console: ${linkOf(id)}`,
  ].join('\n');
  assert.deepEqual(opened.slack, [text]);
  assert.deepEqual(opened.pages, [
    {
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: dedup,
      payload: {
        summary: `Decision needed for step broken of ${id}: ${reason}`,
        source: 'node-1',
        severity: 'error',
        component: 'broken',
        group: 'pg-c',
        class: 'escalation',
        custom_details: { incident_id: id, request_id: requestId, event: 'requested', reason, approvers: ['oncall'], members: ['alice'], timeout: '1h', on_timeout: 'abort', text },
      },
      links: [{ href: linkOf(id), text: 'Incident in the runbook console' }],
      client: 'self-healing-runbooks',
      client_url: CONSOLE,
    },
  ]);
  await waitFor('the NATS notice', 30_000, () => noticesOf(id).length === 1);
  assert.equal(noticesOf(id)[0]?.subject, 'runbook.paging.requested');
  assert.equal(noticesOf(id)[0]?.body.type, 'escalation');
  assert.equal(noticesOf(id)[0]?.body.link, linkOf(id));

  await handle.signal(decide, h.signed(id, 'abort', { step: 'broken', by: 'alice', channel: 'test', reason: 'stop', requestId, action: 'abort' }));
  assert.equal((await handle.result()).outcome, 'aborted after broken failed');
  const decided = await receivedWhen(id, 'the resolve', (g) => g.pages.length === 2);
  assert.deepEqual(decided.pages[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: dedup });
  await waitFor('the decided notice', 30_000, () => noticesOf(id).some((n) => n.subject === 'runbook.paging.decided' && n.body.verdict === 'abort'));
});

test("a flapping target's override request pages as class flap, and its rejection resolves the page", async () => {
  const id = 'incident/pg-d/node-1';
  const log = join(setup?.dir ?? '', 'd.log');
  const runbook = runbookFrom(`
name: paged-flap
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  flap: { max_incidents: 2, window: 1h }
steps:
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
`);
  assert.equal((await (await h.start(runbook, testFault('pg-d', 'node-1'))).result()).status, 'resolved');
  await waitFor('visibility to list the first incident', 30_000, async () => {
    for await (const _ of h.client.workflow.list({ query: `WorkflowId = '${id}'` })) return true;
    return false;
  });
  const second = await h.start(runbook, testFault('pg-d', 'node-1'));
  const requestId = await openRequest(id);
  const opened = await receivedWhen(id, 'the flap page', (g) => g.pages.length === 1);
  const payload = opened.pages[0]?.payload as Record<string, unknown>;
  assert.equal(opened.pages[0]?.dedup_key, `${id}/${requestId}`);
  assert.equal(payload.class, 'flap');
  assert.equal(payload.severity, 'warning');
  assert.match(String(payload.summary), /^Approval needed for step act of incident\/pg-d\/node-1: flapping: 2 incidents/);
  await second.signal('reject', h.signed(id, 'reject', { step: 'act', by: 'alice', channel: 'test', reason: 'leave it down', requestId }));
  assert.equal((await second.result()).status, 'aborted');
  const decided = await receivedWhen(id, 'the resolve', (g) => g.pages.length === 2);
  assert.deepEqual(decided.pages[1], { routing_key: ROUTING_KEY, event_action: 'resolve', dedup_key: `${id}/${requestId}` });
  await waitFor('the flap notices on NATS', 30_000, () => noticesOf(id).map((n) => n.subject).join() === 'runbook.paging.requested,runbook.paging.decided');
});
