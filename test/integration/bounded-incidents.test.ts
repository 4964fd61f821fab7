import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { NatsConnection, Subscription } from 'nats';
import type { ApprovalNotice } from '../../activities/notify-approvals';
import { ensureAuditStream, readAuditEvents } from '../../audit/audit-stream';
import { buildAuditRecordFromStream, fetchAuditRecord } from '../../audit/build-audit';
import { sdkIncidentReads } from '../../incidents/read-incident';
import { waitFor } from '../../stack/wait-for';
import type { FaultEvent } from '../../schemas/fault-event';
import type { IncidentInput } from '../../schemas/incident-input';
import type { IncidentResult, IncidentState } from '../../schemas/incident-state';
import { MAX_REFUSED_KEPT } from '../../workflows/refusal-cap';
import { approve, decisionRefused, faultObserved } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { runbookFrom, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * Incidents stay bounded: every wait for a human or for resolution ends,
 * refused decisions and step outputs are capped, and a long run continues as
 * new without repeating what it did.
 */

const node = JSON.stringify(process.execPath);
const dir = mkdtempSync(join(tmpdir(), 'bounded-'));
const rosterFile = join(dir, 'roster.yaml');
const notices: ApprovalNotice[] = [];

let stack: TestStack;
let h: EngineHarness;
let nc: NatsConnection;
let sub: Subscription;

before(async () => {
  writeFileSync(rosterFile, 'groups:\n  oncall: { members: [alice] }\nnotify: { subject: runbook.bounded-notices }\n');
  stack = await startTestStack({ overrides: { rosterFile } });
  nc = await stack.natsConnect('admin');
  sub = nc.subscribe('runbook.bounded-notices.>');
  void (async () => {
    for await (const m of sub) notices.push(m.json());
  })();
  await ensureAuditStream(await nc.jetstreamManager());
  h = await startEngineHarness(stack);
});

after(async () => {
  sub?.unsubscribe();
  await nc?.close();
  await h?.close();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts an incident with input fields the harness does not set. */
function startWith(fault: FaultEvent, extra: Partial<IncidentInput>): Promise<WorkflowHandle> {
  const incidentId = `incident/${fault.service}/${fault.target}`;
  return h.client.workflow.start('incident', { workflowId: incidentId, taskQueue: h.taskQueue, args: [{ incidentId, fault, ...extra }] });
}

const by = (step: string, who = 'alice') => ({ step, by: who, channel: 'test', reason: 'testing bounds' });

test('an escalation nobody answers is sent again a bounded number of times, then aborts as the runbook says', async () => {
  const log = join(h.scratch, 'esc-timeout.log');
  const runbook = runbookFrom(`
name: esc-timeout
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  escalation: { timeout: 1s, renotify: 2, on_timeout: abort }
steps:
  - id: prepare
    action: { kind: command, argv: ${sideEffect(log, 'prepare')} }
    compensate: { kind: command, argv: ${sideEffect(log, 'unprepare')} }
  - id: broken
    action: { kind: command, argv: ${sideEffect(log, 'broken', '--fail-until', '99')} }
    retry: { max_attempts: 1 }
`);
  const plain = runbookFrom('name: plain\nversion: 1\nmatch: { kinds: [x] }\nsteps: [{ id: a, action: { kind: wait, duration: 1s } }]\n');
  assert.deepEqual(plain.definition.settings.escalation, { timeout: '1h', renotify: 3, on_timeout: 'abort' }, 'a runbook that says nothing waits 1h, asks 3 more times, then aborts');
  const handle = await startWith(testFault('esc-timeout', 'node-1'), { runbook });
  const result = (await handle.result()) as IncidentResult;
  assert.equal(result.status, 'aborted');
  assert.equal(result.outcome, 'escalation timed out at broken');
  assert.equal(runsOf(log, 'unprepare'), 1, 'the compensation ran once, before asking');
  const mine = notices.filter((n) => n.incidentId === 'incident/esc-timeout/node-1');
  assert.deepEqual(mine.map((n) => n.event), ['requested', 'escalated', 'escalated', 'timed_out']);
  const escalations = result.state.requests.filter((r) => r.type === 'escalation');
  assert.equal(escalations.length, 3);
  assert.ok(escalations.every((r) => r.outcome === 'timeout' && r.timeoutAt !== undefined));
});

test('an incident without a runbook closes as unresolved_quiet after its quiet period, each new fault starting it again', async () => {
  const fault = testFault('quiet', 'node-1');
  const handle = await startWith(fault, { quietPeriod: '3s' });
  await waitFor('the incident to be open', 10_000, async () => (await h.state(handle)).status === 'confirming');
  const refault = testFault('quiet', 'node-1');
  const sentAt = Date.now();
  await handle.signal(faultObserved, refault);
  const result = (await handle.result()) as IncidentResult;
  assert.equal(result.status, 'unresolved');
  assert.equal(result.outcome, 'unresolved_quiet');
  assert.equal(result.faultsAbsorbed, 2);
  assert.ok(Date.parse(result.state.closedAt ?? '') - sentAt >= 2_900, 'the quiet period started again at the second fault');
});

test('a flood of refused decisions keeps the first ones and counts the rest', async () => {
  const log = join(h.scratch, 'flood.log');
  const runbook = runbookFrom(`
name: flood
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: risky
    action: { kind: command, argv: ${sideEffect(log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }
`);
  const handle = await h.start(runbook, testFault('flood', 'node-1'));
  const waiting = await h.waitForStatus(handle, 'awaiting_approval');
  const requestId = waiting.requests[0]?.requestId;
  for (let i = 0; i < MAX_REFUSED_KEPT + 15; i++) await handle.signal(decisionRefused, h.signedRefusal(handle.workflowId, { ...by('risky', `mallory-${i}`), requestId, verdict: 'approve', note: 'not an approver' }));
  await waitFor('every refusal to be counted', 20_000, async () => {
    const r = (await h.state(handle)).requests[0];
    return (r?.refusedOmitted ?? 0) === 15;
  });
  const request = (await h.state(handle)).requests[0];
  assert.equal(request?.decisions.filter((d) => !d.accepted).length, MAX_REFUSED_KEPT);
  await handle.signal(approve, h.signed(handle.workflowId, 'approve', by('risky')));
  const result = (await handle.result()) as IncidentResult;
  assert.equal(result.outcome, 'healed');
});

test('a large command output is cut to 8 KiB in the state, marked truncated with its size', async () => {
  const big = JSON.stringify([process.execPath, '-e', "process.stdout.write('x'.repeat(100000))"]);
  const runbook = runbookFrom(`
name: chatty
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: chatty
    action: { kind: command, argv: ${big}, max_output: 200000 }
`);
  const handle = await h.start(runbook, testFault('chatty', 'node-1'));
  const result = (await handle.result()) as IncidentResult;
  assert.equal(result.outcome, 'healed');
  const shown = await runCli(['show', 'incident/chatty/node-1', '--json'], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  const state = JSON.parse(shown.stdout) as IncidentState;
  const output = state.steps[0]?.output ?? {};
  assert.equal(output.truncated, true);
  assert.ok(typeof output.originalBytes === 'number' && output.originalBytes > 100_000);
  assert.ok(JSON.stringify(output).length <= 8_192 + 64, `output kept is ${JSON.stringify(output).length} bytes`);
  assert.ok(JSON.stringify(result).length < 20_000, 'the result stays small');
});

test('an incident waiting at an approval continues as new, then applies the approval once and heals without repeating steps', async () => {
  const log = join(h.scratch, 'rolls.log');
  const runbook = runbookFrom(`
name: rolls
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: prepare
    action: { kind: command, argv: ${sideEffect(log, 'prepare')} }
    compensate: { kind: command, argv: ${sideEffect(log, 'unprepare')} }
  - id: risky
    action: { kind: command, argv: ${sideEffect(log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }
  - id: after
    action: { kind: command, argv: ${sideEffect(log, 'after')} }
`);
  const id = 'incident/rolls/node-1';
  const handle = await startWith(testFault('rolls', 'node-1'), { runbook, continueAsNewAfterEvents: 60 });
  const waiting = await h.waitForStatus(handle, 'awaiting_approval');
  const requestId = waiting.requests[0]?.requestId;
  const firstRun = (await handle.describe()).runId;
  // Repeat faults grow the history while it waits, until the run continues as new.
  await waitFor('a new run of the incident', 60_000, async () => {
    await h.client.workflow.getHandle(id).signal(faultObserved, testFault('rolls', 'node-1'));
    return (await h.client.workflow.getHandle(id).describe()).runId !== firstRun;
  });
  const latest = h.client.workflow.getHandle(id);
  const resumed = await h.waitForStatus(latest, 'awaiting_approval');
  assert.equal(resumed.requests.length, 1, 'the approval is not asked again');
  assert.equal(resumed.requests[0]?.requestId, requestId);
  assert.equal(resumed.steps[0]?.status, 'succeeded');

  await latest.signal(approve, h.signed(id, 'approve', { ...by('risky'), requestId }));
  const result = (await latest.result()) as IncidentResult;
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.deepEqual([runsOf(log, 'prepare'), runsOf(log, 'risky'), runsOf(log, 'after'), runsOf(log, 'unprepare')], [1, 1, 1, 0]);
  assert.ok(result.faultsAbsorbed > 2, 'faults absorbed by both runs are counted');
  assert.equal(result.state.openedAt, waiting.openedAt);

  const shown = await runCli(['show', id, '--json'], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  const state = JSON.parse(shown.stdout) as IncidentState;
  assert.deepEqual(state.steps.map((s) => [s.id, s.status]), [['prepare', 'succeeded'], ['risky', 'succeeded'], ['after', 'succeeded']]);
  assert.equal(state.requests[0]?.outcome, 'approve');

  const events = await readAuditEvents(nc, id);
  const fromHistory = await fetchAuditRecord(sdkIncidentReads(h.client), id, events);
  assert.deepEqual(fromHistory.steps.map((s) => s.status), ['succeeded', 'succeeded', 'succeeded']);
  const fromStream = buildAuditRecordFromStream(id, events);
  assert.equal(fromStream.status, 'resolved');
  assert.deepEqual(fromStream.steps.map((s) => [s.id, s.status]), [['prepare', 'succeeded'], ['risky', 'succeeded'], ['after', 'succeeded']]);
  const seqs = events.map((e) => (e as unknown as { seq?: unknown }).seq).filter((x): x is number => typeof x === 'number');
  assert.equal(new Set(seqs).size, seqs.length, 'sequence numbers go on across runs');
});
