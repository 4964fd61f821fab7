import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../../stack/wait-for';
import { decide } from '../../workflows/messages';
import type { IncidentState } from '../../schemas/incident-state';
import { runCli } from '../helpers/cli';
import { runbookFrom, runsOf, sideEffect, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';
import type { TestStack } from '../helpers/stack';

/*
 * Escalations are decided like approvals: the request names the roster
 * groups and members who may decide it, and only they can, through the real
 * approval API and worker (patch 'escalation-roster').
 */

const node = JSON.stringify(process.execPath);

let setup: EngineStack | undefined;
let stack: TestStack;
let h: EngineHarness;
let dir: string;
let apiUrl: string;
let tokens: Record<string, string>;

before(async () => {
  setup = await startEngineStack({
    roster: `groups:
  oncall: { members: [alice, bob], escalate_to: [leads] }
  leads: { members: [carol] }
  dba: { members: [dave] }
`,
    users: ['alice', 'bob', 'carol', 'dave', 'mallory'],
    updateWaitMs: 5_000,
  });
  ({ stack, h, dir, apiUrl, tokens } = setup);
});

after(async () => {
  await setup?.close();
});

async function post(incidentId: string, who: string, body: Record<string, unknown>): Promise<{ status: number; body: { accepted: boolean; refusal?: string; reason?: string; ack?: { outcome?: string } } }> {
  const res = await (setup as EngineStack).postDecision(incidentId, who, body);
  return { status: res.status, body: (await res.json()) as never };
}


/** A runbook whose one step fails until `gate` exists, then escalates; `escalation` is its settings.escalation. */
function failingRunbook(name: string, log: string, gate: string, escalation = '{ timeout: 5m }'): ReturnType<typeof runbookFrom> {
  return runbookFrom(`
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}], escalation: ${escalation} }
steps:
  - id: sync
    action: { kind: command, argv: ${sideEffect(log, 'sync', '--until-file', gate)} }
    retry: { max_attempts: 1 }
    on_failure: escalate
`);
}

test('a pending escalation names on-call and its members; show and the API read say who may decide', async () => {
  const log = join(dir, 'pending.log');
  const handle = await h.start(failingRunbook('er-pending', log, join(dir, 'pending-gate')), testFault('er-a', 'node-1'));
  const id = 'incident/er-a/node-1';
  await h.waitForStatus(handle, 'escalated');
  const state = await h.stateWhere(id, 'the escalation request open', (s) => s.requests.some((r) => r.type === 'escalation' && r.outcome === undefined));
  const pending = state.requests.find((r) => r.outcome === undefined);
  assert.deepEqual(pending?.approvers, ['oncall']);
  assert.deepEqual(pending?.eligible, ['alice', 'bob']);

  const read = await fetch(`${apiUrl}/incidents/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${tokens.mallory}` } });
  assert.equal(read.status, 200);
  const body = (await read.json()) as IncidentState;
  assert.deepEqual(body.requests.find((r) => r.outcome === undefined)?.eligible, ['alice', 'bob']);

  const shown = await runCli(['show', id], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /escalation for sync at .*: waiting/);
  assert.match(shown.stdout, /may decide: oncall \(alice, bob\)/);
  await handle.terminate('test over');
});

test("a non-member's escalation decision is refused with 403 and changes nothing; a member's retry is accepted and heals", async () => {
  const log = join(dir, 'member.log');
  const gate = join(dir, 'member-gate');
  const handle = await h.start(failingRunbook('er-member', log, gate), testFault('er-b', 'node-1'));
  const id = 'incident/er-b/node-1';
  await h.waitForStatus(handle, 'escalated');

  const outsider = await post(id, 'mallory', { verdict: 'retry', reason: 'let me try' });
  assert.equal(outsider.status, 403);
  assert.equal(outsider.body.accepted, false);
  assert.equal(outsider.body.refusal, 'NotAnApprover');
  assert.equal(outsider.body.reason, 'not on the escalation roster: mallory is not in oncall, who may decide this escalation');
  const cli = await runCli(['decide', id, '--action', 'abort', '--reason', 'stop it'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.carol });
  assert.equal(cli.code, 3, 'a refused decide exits non-zero');
  assert.match(cli.stderr, /abort refused \(HTTP 403 NotAnApprover\): not on the escalation roster: carol is not in oncall/);

  const waiting = await h.stateWhere(id, 'both refusals recorded', (s) => (s.requests.at(-1)?.decisions.filter((d) => !d.accepted).length ?? 0) >= 2);
  assert.equal(waiting.status, 'escalated', 'the incident still waits for a member');
  assert.equal(waiting.requests.at(-1)?.outcome, undefined);
  assert.equal(runsOf(log, 'sync'), 1, 'a refused retry did not rerun the step');
  assert.deepEqual(waiting.requests.at(-1)?.decisions.map((d) => [d.by, d.accepted]), [['mallory', false], ['carol', false]]);

  writeFileSync(gate, '');
  const member = await runCli(['decide', id, '--action', 'retry', '--reason', 'disk freed'], { ...stack.env, RUNBOOK_API_URL: apiUrl, RUNBOOK_API_TOKEN: tokens.bob });
  assert.equal(member.code, 0, member.stderr);
  assert.match(member.stdout, /retry took effect for incident\/er-b\/node-1: retry/);
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'sync'), 2);
  const accepted = (await h.state(handle)).requests.at(-1)?.decisions.filter((d) => d.accepted);
  assert.deepEqual(accepted?.map((d) => [d.by, d.verdict]), [['bob', 'retry']]);
});

test("the runbook's escalation groups decide instead of on-call, and an unanswered request adds the roster chain", async () => {
  const log = join(dir, 'chain.log');
  const own = await h.start(failingRunbook('er-own', log, join(dir, 'never'), '{ approvers: [dba], timeout: 5m }'), testFault('er-c', 'node-1'));
  await h.waitForStatus(own, 'escalated');
  assert.equal((await post(own.workflowId, 'alice', { verdict: 'abort', reason: 'on-call, not dba' })).status, 403);
  const dba = await post(own.workflowId, 'dave', { verdict: 'abort', reason: 'dba gives up' });
  assert.equal(dba.status, 200);
  assert.equal((await own.result()).status, 'aborted');

  const chained = await h.start(failingRunbook('er-chain', log, join(dir, 'never'), '{ timeout: 2s, renotify: 3 }'), testFault('er-d', 'node-1'));
  const second = await h.stateWhere(chained.workflowId, 'the escalation sent again', (s) => s.requests.length >= 2);
  assert.deepEqual(second.requests[0]?.approvers, ['oncall']);
  assert.deepEqual(second.requests[1]?.approvers, ['oncall', 'leads']);
  assert.deepEqual(second.requests[1]?.eligible, ['alice', 'bob', 'carol']);
  // Once the chain reached leads, carol may decide; her decision may land on the second or a third request.
  let answered = await post(chained.workflowId, 'carol', { verdict: 'abort', reason: 'lead aborts' });
  if (answered.status === 409) answered = await post(chained.workflowId, 'carol', { verdict: 'abort', reason: 'lead aborts' });
  assert.equal(answered.status, 200, JSON.stringify(answered.body));
  assert.equal((await chained.result()).status, 'aborted');
});

test('a forged, unsigned escalation decision is refused and shows as refused in runbook audit', async () => {
  const log = join(dir, 'forged.log');
  const handle = await h.start(failingRunbook('er-forged', log, join(dir, 'forged-gate')), testFault('er-e', 'node-1'));
  const id = handle.workflowId;
  await h.waitForStatus(handle, 'escalated');
  // Naming a member, but sent straight to Temporal without the approval API's signature.
  await handle.signal(decide, { action: 'skip', step: 'sync', by: 'alice', channel: 'temporal', reason: 'forged skip' });
  const refused = await h.stateWhere(id, 'the forged decision recorded', (s) => s.requests.at(-1)?.decisions.some((d) => !d.accepted) ?? false);
  assert.equal(refused.status, 'escalated');
  assert.match(refused.requests.at(-1)?.decisions[0]?.note ?? '', /not vouched for by the approval API/);
  assert.equal((await post(id, 'alice', { verdict: 'abort', reason: 'the real answer' })).status, 200);
  assert.equal((await handle.result()).status, 'aborted');

  let audit = '';
  await waitFor('audit readable', 30_000, async () => {
    const run = await runCli(['audit', 'er-e/node-1'], stack.env);
    audit = run.stdout;
    return run.code === 0;
  });
  assert.match(audit, /REFUSED {2}skip by alice via temporal at \S+: forged skip \[decision signature invalid: not vouched for by the approval API\]/);
  assert.match(audit, /ACCEPTED abort by alice via http/);
});
