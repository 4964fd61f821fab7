import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection, Subscription } from 'nats';
import { readAuditEvents } from '../../audit/audit-stream';
import type { ApprovalNotice } from '../../activities/notify-approvals';
import { waitFor } from '../../stack/wait-for';
import type { incident } from '../../workflows';
import { decide } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { runbookFrom, runOrder, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';
import type { TestStack } from '../helpers/stack';

const node = JSON.stringify(process.execPath);
const notices: (ApprovalNotice & { command: string })[] = [];

let setup: EngineStack | undefined;
let stack: TestStack;
let h: EngineHarness;
let nc: NatsConnection;
let sub: Subscription | undefined;
let dir: string;
let apiUrl: string;
let tokens: Record<string, string>;

before(async () => {
  setup = await startEngineStack({
    roster: `groups:
  oncall: { members: [alice, bob], escalate_to: [leads] }
  leads: { members: [carol] }
notify: { subject: runbook.test-approvals }
`,
    users: ['alice', 'bob', 'carol', 'mallory'],
    updateWaitMs: 3_000,
    auditToStream: true,
  });
  ({ stack, h, nc, dir, apiUrl, tokens } = setup);
  const approvals = nc.subscribe('runbook.test-approvals.>');
  sub = approvals;
  void (async () => {
    for await (const m of approvals) notices.push(m.json());
  })();
});

after(async () => {
  sub?.unsubscribe();
  await setup?.close();
});

/** Posts a decision as `who` (by token) and returns status and body. */
async function post(incidentId: string, who: string, body: Record<string, unknown>): Promise<{ status: number; body: { accepted: boolean; refusal?: string; reason?: string; queued?: boolean; ack?: { outcome?: string } } }> {
  const res = await (setup as EngineStack).postDecision(incidentId, who, body);
  return { status: res.status, body: (await res.json()) as never };
}

function gatedRunbook(name: string, log: string, approval: string, extraBefore = ''): ReturnType<typeof runbookFrom> {
  return runbookFrom(`
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:${extraBefore}
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
    approval: ${approval}
`);
}

async function noticeFor(incidentId: string, event: ApprovalNotice['event']): Promise<ApprovalNotice & { command: string }> {
  let found: (ApprovalNotice & { command: string }) | undefined;
  await waitFor(`${event} notice for ${incidentId}`, 30_000, () => (found = notices.find((n) => n.incidentId === incidentId && n.event === event)) !== undefined);
  return found as ApprovalNotice & { command: string };
}


test('an approver outside the group is refused with 403, the refusal is recorded, and an authorized approver moves the incident on', async () => {
  const log = join(dir, 'outsider.log');
  const handle = await h.start(gatedRunbook('outsider', log, '{ approvers: [oncall], timeout: 1m, on_timeout: reject }'), testFault('ap-a', 'node-1'));
  const id = 'incident/ap-a/node-1';
  await h.waitForStatus(handle, 'awaiting_approval');
  const requested = await noticeFor(id, 'requested');
  assert.deepEqual(requested.members, ['alice', 'bob']);
  assert.equal(requested.command, `runbook approve ${id} --step act --reason '…'`);

  const unauthenticated = await fetch(`${apiUrl}/incidents/${encodeURIComponent(id)}/decisions`, { method: 'POST', body: '{}' });
  assert.equal(unauthenticated.status, 401);
  const selfAsserted = await post(id, 'mallory', { verdict: 'approve', reason: 'I am alice', by: 'alice' });
  assert.equal(selfAsserted.status, 400, 'a body naming its own approver is refused');

  const outsider = await post(id, 'mallory', { verdict: 'approve', reason: 'looks fine to me' });
  assert.equal(outsider.status, 403);
  assert.equal(outsider.body.refusal, 'NotAnApprover');
  assert.match(outsider.body.reason ?? '', /mallory is not in oncall/);
  const unknownStep = await post(id, 'alice', { verdict: 'approve', step: 'nope', reason: 'wrong step' });
  assert.equal(unknownStep.status, 404);
  assert.equal(unknownStep.body.refusal, 'UnknownStep');

  const waiting = await h.stateWhere(id, 'refusals recorded', (s) => (s.requests[0]?.decisions.length ?? 0) >= 2);
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(runsOf(log, 'act'), 0);
  const refused = waiting.requests[0]?.decisions.find((d) => d.by === 'mallory');
  assert.equal(refused?.accepted, false);
  assert.equal(refused?.channel, 'http');
  assert.match(refused?.note ?? '', /not an approver/);

  const cli = await runCli(['approve', id, '--reason', 'checked the graphs'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.alice });
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /approve took effect/);
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);
  const final = await h.state(handle);
  const accepted = final.requests[0]?.decisions.filter((d) => d.accepted);
  assert.deepEqual(accepted?.map((d) => [d.by, d.channel, d.verdict, d.reason]), [['alice', 'http', 'approve', 'checked the graphs']]);
  assert.equal(final.requests[0]?.outcome, 'approve');
});

test('a refused CLI approval exits non-zero with the reason', async () => {
  const log = join(dir, 'cli-refused.log');
  const handle = await h.start(gatedRunbook('cli-refused', log, '{ approvers: [leads], timeout: 1m, on_timeout: reject }'), testFault('ap-b', 'node-1'));
  await h.waitForStatus(handle, 'awaiting_approval');
  const cli = await runCli(['reject', 'ap-b/node-1', '--reason', 'no'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.bob });
  assert.equal(cli.code, 3);
  assert.match(cli.stderr, /HTTP 403 NotAnApprover.*bob is not in leads/);
  const ok = await runCli(['reject', 'ap-b/node-1', '--reason', 'not now'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.carol });
  assert.equal(ok.code, 0, ok.stderr);
  const result = await handle.result();
  assert.equal(result.status, 'aborted');
  assert.equal(runsOf(log, 'act'), 0);
});

test('on_timeout: escalate notifies the next group in the roster and waits again', async () => {
  const log = join(dir, 'escalate.log');
  const handle = await h.start(gatedRunbook('escalating', log, '{ approvers: [oncall], timeout: 2s, on_timeout: escalate }'), testFault('ap-c', 'node-1'));
  const id = 'incident/ap-c/node-1';
  const escalated = await noticeFor(id, 'escalated');
  assert.deepEqual(escalated.approvers, ['leads']);
  assert.deepEqual(escalated.members, ['carol']);
  const state = await h.waitForStatus(handle, 'escalated');
  assert.equal(state.requests.length, 2);
  assert.equal(state.requests[0]?.outcome, 'timeout');
  assert.equal(runsOf(log, 'act'), 0, 'a timeout does not approve');

  const former = await post(id, 'alice', { verdict: 'approve', reason: 'late' });
  assert.equal(former.status, 403, 'after escalation only the next group may approve');
  const lead = await post(id, 'carol', { verdict: 'approve', reason: 'go ahead' });
  assert.equal(lead.status, 200);
  assert.equal(lead.body.ack?.outcome, 'approve');
  assert.equal((await handle.result()).status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);
});

test('on_timeout: reject aborts, runs compensations and announces the timeout', async () => {
  const log = join(dir, 'reject.log');
  const first = `
  - id: first
    action: { kind: command, argv: ${sideEffect(log, 'first')} }
    compensate: { kind: command, argv: ${sideEffect(log, 'undo-first')} }`;
  const handle = await h.start(gatedRunbook('rejecting', log, '{ approvers: [oncall], timeout: 2s, on_timeout: reject }', first), testFault('ap-d', 'node-1'));
  const result = await handle.result();
  assert.equal(result.status, 'aborted');
  assert.match(result.outcome, /approval timeout at act/);
  assert.deepEqual(runOrder(log), ['first', 'undo-first']);
  const notice = await noticeFor('incident/ap-d/node-1', 'timed_out');
  assert.equal(notice.onTimeout, 'reject');
  const final = await h.state(handle);
  assert.deepEqual(final.compensations.map((c) => [c.forStep, c.ok]), [['first', true]]);
});

test('an approve and a reject racing for the same request: exactly one takes effect and the other is stale', async () => {
  const log = join(dir, 'race.log');
  const handle = await h.start(gatedRunbook('racing', log, '{ approvers: [oncall], timeout: 1m, on_timeout: reject }'), testFault('ap-e', 'node-1'));
  const id = 'incident/ap-e/node-1';
  await h.waitForStatus(handle, 'awaiting_approval');
  const [a, r] = await Promise.all([post(id, 'alice', { verdict: 'approve', reason: 'race a' }), post(id, 'bob', { verdict: 'reject', reason: 'race b' })]);
  assert.deepEqual([a.status, r.status].sort(), [200, 409]);
  const winner = a.status === 200 ? 'approve' : 'reject';
  const loser = a.status === 200 ? r : a;
  assert.equal(loser.body.refusal, 'StaleDecision');
  const result = await handle.result();
  assert.equal(result.status, winner === 'approve' ? 'resolved' : 'aborted');
  assert.equal(runsOf(log, 'act'), winner === 'approve' ? 1 : 0);
  const final = await h.state(handle);
  const decisions = final.requests[0]?.decisions ?? [];
  assert.equal(decisions.filter((d) => d.accepted).length, 1);
  assert.equal(decisions.find((d) => d.accepted)?.verdict, winner);
  // The refused attempt is in the history when the incident was still open to take it, and always in the audit stream.
  const audited = (await readAuditEvents(nc, id)).filter((e) => e.event.startsWith('decision.'));
  assert.deepEqual(audited.map((e) => e.event).sort(), ['decision.accepted', 'decision.refused']);
  const stale = audited.find((e) => e.event === 'decision.refused');
  assert.equal(stale?.refusal, 'StaleDecision');
  assert.equal(stale?.by, a.status === 200 ? 'bob' : 'alice');
});

test('an approval sent while the worker is down is applied when the worker returns', async () => {
  const log = join(dir, 'down.log');
  const own = await startEngineHarness(stack);
  let back: EngineHarness | undefined;
  try {
    const handle = await own.start(gatedRunbook('worker-down', log, '{ approvers: [oncall], timeout: 5m, on_timeout: reject }'), testFault('ap-f', 'node-1'));
    const id = 'incident/ap-f/node-1';
    await own.waitForStatus(handle, 'awaiting_approval');
    await own.close();
    const queued = await post(id, 'alice', { verdict: 'approve', step: 'act', reason: 'while down' });
    assert.equal(queued.status, 202);
    assert.equal(queued.body.queued, true);
    assert.equal(runsOf(log, 'act'), 0);
    back = await startEngineHarness(stack, { taskQueue: own.taskQueue });
    const result = await back.client.workflow.getHandle<typeof incident>(id).result();
    assert.equal(result.status, 'resolved');
    assert.equal(runsOf(log, 'act'), 1);
    const accepted = (await back.state(back.client.workflow.getHandle(id))).requests[0]?.decisions.filter((d) => d.accepted);
    assert.deepEqual(accepted?.map((d) => [d.by, d.verdict]), [['alice', 'approve']]);
  } finally {
    await back?.close();
    await own.close().catch(() => undefined);
  }
});

test('the approval API exports pending approvals, approval wait, incidents by outcome and time to recover', async () => {
  const log = join(dir, 'metrics.log');
  const handle = await h.start(gatedRunbook('measured', log, '{ approvers: [oncall], timeout: 1m, on_timeout: reject }'), testFault('ap-g', 'node-1'));
  await h.waitForStatus(handle, 'awaiting_approval');
  const sample = async (): Promise<string> => (await fetch(`${apiUrl}/metrics`)).text();
  const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  await waitFor('pending approval counted', 30_000, async () => value(await sample(), 'runbook_approvals_pending') >= 1);
  assert.equal((await post('incident/ap-g/node-1', 'bob', { verdict: 'approve', reason: 'measured' })).status, 200);
  await handle.result();
  let text = '';
  await waitFor('closed incident counted', 30_000, async () => value((text = await sample()), 'runbook_incidents_closed_total{status="resolved"}') >= 1);
  assert.ok(value(text, 'runbook_approval_wait_seconds_count{outcome="approve"}') >= 1);
  assert.ok(value(text, 'runbook_time_to_recover_seconds_count') >= 1);
});

test('decide --action abort on a step waiting for approval is refused: the step does not run, and show and audit say why', async () => {
  const log = join(dir, 'wrong-verdict.log');
  const handle = await h.start(gatedRunbook('wrong-verdict', log, '{ approvers: [oncall], timeout: 1m, on_timeout: reject }'), testFault('ap-v', 'node-1'));
  const id = 'incident/ap-v/node-1';
  await h.waitForStatus(handle, 'awaiting_approval');

  // runbook decide goes through the approval API with the caller's token, which answers the wrong verdict at once.
  const sent = await runCli(['decide', id, '--step', 'act', '--action', 'abort', '--reason', 'wrong command'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.alice });
  assert.equal(sent.code, 1, sent.stderr);
  assert.match(sent.stderr, /abort refused \(HTTP 422 VerdictDoesNotFit\)/);
  const waiting = await h.stateWhere(id, 'the refused abort recorded', (s) => (s.requests[0]?.decisions.length ?? 0) >= 1);
  assert.equal(waiting.status, 'awaiting_approval', 'the gate is still waiting');
  assert.equal(waiting.requests[0]?.outcome, undefined);
  assert.equal(runsOf(log, 'act'), 0, 'an abort is not an approval');
  const refused = waiting.requests[0]?.decisions[0];
  assert.deepEqual([refused?.verdict, refused?.accepted, refused?.by, refused?.channel], ['abort', false, 'alice', 'http']);
  assert.equal(refused?.note, "verdict 'abort' does not answer an approval request; use approve or reject");

  const shown = await runCli(['show', id], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /approval for act at .*: waiting/);
  assert.match(shown.stdout, /abort by alice via http REFUSED: verdict 'abort' does not answer an approval request; use approve or reject: wrong command/);

  assert.equal((await post(id, 'alice', { verdict: 'approve', reason: 'now for real' })).status, 200);
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);

  let audit = '';
  await waitFor('audit readable', 30_000, async () => {
    const run = await runCli(['audit', id], stack.env);
    audit = run.stdout;
    return run.code === 0;
  });
  assert.match(audit, /REFUSED {2}abort by alice via http at \S+: wrong command \[verdict 'abort' does not answer an approval request; use approve or reject\]/);
  assert.match(audit, /ACCEPTED approve by alice via http/);
});

test('an approve posted to an escalation is refused with 422 and recorded; the escalation still takes retry, skip or abort', async () => {
  const log = join(dir, 'escalation-verdict.log');
  const handle = await h.start(
    runbookFrom(`
name: escalation-verdict
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: broken
    action: { kind: command, argv: ${sideEffect(log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }
    on_failure: escalate
`),
    testFault('ap-w', 'node-1'),
  );
  const id = 'incident/ap-w/node-1';
  await h.waitForStatus(handle, 'escalated');
  const posted = await post(id, 'alice', { verdict: 'approve', reason: 'approve the failure?' });
  assert.equal(posted.status, 422);
  assert.equal(posted.body.refusal, 'VerdictDoesNotFit');
  assert.equal(posted.body.reason, "verdict 'approve' does not answer an escalation request; use retry, skip or abort");
  const waiting = await h.stateWhere(id, 'the refused approve recorded', (s) => s.requests.at(-1)?.decisions.some((d) => !d.accepted) ?? false);
  assert.equal(waiting.status, 'escalated');
  assert.equal(waiting.requests.at(-1)?.decisions.filter((d) => d.accepted).length, 0);

  await handle.signal(decide, h.signed(handle.workflowId, 'abort', { action: 'abort', step: 'broken', by: 'alice', channel: 'test', reason: 'give up' }));
  const result = await handle.result();
  assert.equal(result.status, 'aborted');
  assert.equal(runsOf(log, 'broken'), 1, 'the refused approve did not rerun the step');
});
