import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { waitFor } from '../../stack/wait-for';
import { approve, decideApproval, decisionRefused } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { oneCommandRunbook, runsOf, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';

/*
 * Anyone who can reach Temporal can send a signal or an Update naming any
 * approver. Only decisions the approval API signed with the decision key count.
 */

const NOT_VOUCHED = 'decision signature invalid: not vouched for by the approval API';

let setup: EngineStack | undefined;
let h: EngineHarness;
let dir: string;

before(async () => {
  setup = await startEngineStack({
    roster: `groups:
  oncall: { members: [alice, bob] }
`,
    users: ['alice', 'bob'],
    updateWaitMs: 5_000,
  });
  ({ h, dir } = setup);
});

after(async () => {
  await setup?.close();
});

function gated(name: string, log: string, minApprovals = 1): ReturnType<typeof oneCommandRunbook> {
  return oneCommandRunbook(name, log, `approval: { approvers: [oncall], min_approvals: ${minApprovals}, timeout: 5m, on_timeout: reject }`);
}


async function post(incidentId: string, who: string, body: Record<string, unknown>): Promise<{ status: number; body: { accepted?: boolean; refusal?: string; ack?: { outcome?: string; approvals: number } } }> {
  const res = await (setup as EngineStack).postDecision(incidentId, who, body);
  return { status: res.status, body: (await res.json()) as never };
}

test('a forged approve signal is refused and recorded as refused; the step does not run until the API approves', async () => {
  const log = join(dir, 'forged-signal.log');
  const handle = await h.start(gated('forged-signal', log), testFault('fd-a', 'node-1'));
  const id = handle.workflowId;
  await h.waitForStatus(handle, 'awaiting_approval');

  await handle.signal(approve, { by: 'alice', channel: 'http', reason: 'forged', step: 'act' });
  const waiting = await h.stateWhere(id, 'the forged approve recorded', (s) => (s.requests[0]?.decisions.length ?? 0) >= 1);
  assert.equal(waiting.status, 'awaiting_approval');
  assert.deepEqual(waiting.requests[0]?.decisions.map((d) => [d.by, d.verdict, d.accepted, d.note]), [['alice', 'approve', false, NOT_VOUCHED]]);
  assert.equal(runsOf(log, 'act'), 0, 'a forged approval does not run the step');

  const genuine = await post(id, 'bob', { verdict: 'approve', reason: 'looked at it' });
  assert.equal(genuine.status, 200, JSON.stringify(genuine.body));
  assert.equal(genuine.body.ack?.outcome, 'approve');
  assert.equal((await handle.result()).status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);

  let audit = '';
  await waitFor('audit readable', 30_000, async () => {
    const run = await runCli(['audit', id], setup?.stack.env ?? {});
    audit = run.stdout;
    return run.code === 0;
  });
  assert.match(audit, new RegExp(`REFUSED {2}approve by alice via http at \\S+: forged \\[${NOT_VOUCHED}\\]`));
  assert.match(audit, /ACCEPTED approve by bob via http/);
});

test('a forged decideApproval Update is refused with DecisionNotVouched and recorded', async () => {
  const log = join(dir, 'forged-update.log');
  const handle = await h.start(gated('forged-update', log), testFault('fd-b', 'node-1'));
  await h.waitForStatus(handle, 'awaiting_approval');

  const err = await handle.executeUpdate(decideApproval, { args: [{ verdict: 'approve', by: 'alice', channel: 'http', reason: 'forged', step: 'act' }] }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a failed update, got ${String(err)}`);
  assert.ok(err.cause instanceof ApplicationFailure);
  assert.equal(err.cause.type, 'DecisionNotVouched');
  assert.equal(err.cause.message, NOT_VOUCHED);
  const state = await h.state(handle);
  assert.equal(state.status, 'awaiting_approval');
  assert.deepEqual(state.requests[0]?.decisions.map((d) => [d.by, d.accepted, d.note]), [['alice', false, NOT_VOUCHED]]);
  assert.equal(runsOf(log, 'act'), 0);
  await handle.terminate('test done');
});

test('two forged approvals do not meet min_approvals: 2; two API approvals do', async () => {
  const log = join(dir, 'forged-quorum.log');
  const handle = await h.start(gated('forged-quorum', log, 2), testFault('fd-c', 'node-1'));
  const id = handle.workflowId;
  await h.waitForStatus(handle, 'awaiting_approval');

  await handle.signal(approve, { by: 'alice', channel: 'http', reason: 'forged 1', step: 'act' });
  await handle.signal(approve, { by: 'bob', channel: 'http', reason: 'forged 2', step: 'act' });
  const waiting = await h.stateWhere(id, 'both forged approvals recorded', (s) => (s.requests[0]?.decisions.length ?? 0) >= 2);
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(waiting.requests[0]?.decisions.filter((d) => d.accepted).length, 0);
  assert.equal(runsOf(log, 'act'), 0);

  const first = await post(id, 'alice', { verdict: 'approve', reason: 'one' });
  assert.equal(first.status, 200);
  assert.equal(first.body.ack?.approvals, 1, 'the forged approvals did not count towards the quorum');
  assert.equal(first.body.ack?.outcome, undefined);
  const second = await post(id, 'bob', { verdict: 'approve', reason: 'two' });
  assert.equal(second.body.ack?.outcome, 'approve');
  assert.equal((await handle.result()).status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);
});

test('a forged decisionRefused is not recorded as anyone\'s refusal; it is counted as ignored', async () => {
  const log = join(dir, 'forged-refusal.log');
  const handle = await h.start(gated('forged-refusal', log), testFault('fd-d', 'node-1'));
  await h.waitForStatus(handle, 'awaiting_approval');

  await handle.signal(decisionRefused, { verdict: 'approve', by: 'bob', channel: 'http', reason: 'framed', step: 'act', note: 'not an approver: bob' });
  const state = await h.stateWhere(handle.workflowId, 'the forged refusal counted', (s) => (s.ignoredRefusals ?? 0) >= 1);
  assert.equal(state.ignoredRefusals, 1);
  assert.deepEqual(state.requests[0]?.decisions, [], 'no refusal is attributed to bob');
  await handle.terminate('test done');
});

test('a signature over different fields is refused: a tampered verdict, identity or incident does not verify', async () => {
  const log = join(dir, 'tampered.log');
  const handle = await h.start(gated('tampered', log), testFault('fd-e', 'node-1'));
  const id = handle.workflowId;
  await h.waitForStatus(handle, 'awaiting_approval');
  const base = { channel: 'http', reason: 'tampered', step: 'act' };

  // Signed as a rejection, sent as an approval.
  await handle.signal(approve, h.signed(id, 'reject', { ...base, by: 'alice' }));
  // Signed for alice, sent as bob.
  await handle.signal(approve, { ...h.signed(id, 'approve', { ...base, by: 'alice' }), by: 'bob' });
  // Signed for another incident.
  await handle.signal(approve, h.signed('incident/other/node-1', 'approve', { ...base, by: 'alice' }));
  const waiting = await h.stateWhere(id, 'three tampered approvals recorded', (s) => (s.requests[0]?.decisions.length ?? 0) >= 3);
  assert.deepEqual(waiting.requests[0]?.decisions.map((d) => [d.accepted, d.note]), [[false, NOT_VOUCHED], [false, NOT_VOUCHED], [false, NOT_VOUCHED]]);
  assert.equal(waiting.status, 'awaiting_approval');
  assert.equal(runsOf(log, 'act'), 0);

  // The same key, the right fields: a signature from the signer counts.
  await handle.signal(approve, h.signed(id, 'approve', { ...base, by: 'alice' }));
  assert.equal((await handle.result()).status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);
});
