import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decide } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { runbookFrom, runOrder, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let h: EngineHarness;
let healthy: Server;
let healthyUrl: string;

before(async () => {
  stack = await startTestStack();
  h = await startEngineHarness(stack);
  healthy = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => healthy.listen(0, '127.0.0.1', r));
  const addr = healthy.address();
  healthyUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/health`;
});

after(async () => {
  healthy?.close();
  await h?.close();
  await stack?.stop();
});

const node = JSON.stringify(process.execPath);

test('a step that fails twice and then succeeds shows 3 attempts in runbook show', async () => {
  const log = join(h.scratch, 'flaky.log');
  const runbook = runbookFrom(`
name: flaky
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: flaky
    action: { kind: command, argv: ${sideEffect(log, 'flaky', '--fail-until', '3')} }
    retry: { max_attempts: 5, initial_interval: 100ms, max_interval: 200ms }
`);
  const handle = await h.start(runbook, testFault('svc-a', 'node-1'));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'flaky'), 3);

  const shown = await runCli(['show', 'svc-a/node-1', '--json'], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  const state = JSON.parse(shown.stdout) as { steps: { id: string; attempts: { ok: boolean; error?: string }[] }[] };
  const step = state.steps.find((s) => s.id === 'flaky');
  assert.equal(step?.attempts.length, 3);
  assert.deepEqual(step?.attempts.map((a) => a.ok), [false, false, true]);
  assert.match(step?.attempts[0]?.error ?? '', /exit|code|3/);
  const text = await runCli(['show', 'incident/svc-a/node-1'], stack.env);
  assert.match(text.stdout, /flaky\s+command\s+succeeded\s+3 attempts/);
});

test('a non-retryable failure escalates with nothing undone, and a retry decision completes the incident', async () => {
  const log = join(h.scratch, 'escalate.log');
  const gate = join(h.scratch, 'gate-open');
  const runbook = runbookFrom(`
name: escalating
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: first
    action: { kind: command, argv: ${sideEffect(log, 'first')} }
    compensate: { kind: command, argv: ${sideEffect(log, 'undo-first')} }
  - id: second
    action: { kind: command, argv: ${sideEffect(log, 'second')} }
    compensate: { kind: command, argv: ${sideEffect(log, 'undo-second')} }
  - id: third
    action: { kind: command, argv: ${sideEffect(log, 'third', '--until-file', gate)} }
    retry: { max_attempts: 5, initial_interval: 100ms, non_retryable: [CommandFailed] }
    on_failure: escalate
`);
  const handle = await h.start(runbook, testFault('svc-b', 'node-1'));
  const escalated = await h.waitForStatus(handle, 'escalated');
  assert.deepEqual(runOrder(log), ['first', 'second', 'third'], 'the human decides before anything is undone');
  assert.equal(escalated.steps.find((s) => s.id === 'third')?.attempts.length, 1, 'non-retryable: one attempt');
  assert.deepEqual(escalated.compensations, []);
  assert.equal(escalated.requests.at(-1)?.type, 'escalation');

  writeFileSync(gate, '');
  await handle.signal(decide, h.signed(handle.workflowId, 'retry', { action: 'retry', step: 'third', by: 'alice', channel: 'test', reason: 'gate fixed' }));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'third'), 2);
  assert.deepEqual(runOrder(log), ['first', 'second', 'third', 'third'], 'a retry undoes nothing either');
  const final = await h.state(handle);
  assert.equal(final.requests.at(-1)?.outcome, 'retry');
  assert.equal(final.requests.at(-1)?.decisions[0]?.by, 'alice');
});

test('a healthy target closes the incident as a false alarm without taking any action', async () => {
  const log = join(h.scratch, 'false-alarm.log');
  const runbook = runbookFrom(`
name: confirm-first
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: confirm
    action: { kind: confirm, target: { http: { url: "${healthyUrl}" } }, timeout: 1s, samples: 3, interval: 100ms, quorum: 2 }
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
`);
  const handle = await h.start(runbook, testFault('svc-c', 'node-1'));
  const result = await handle.result();
  assert.equal(result.status, 'false_alarm');
  assert.equal(runsOf(log, 'act'), 0);
  const state = await h.state(handle);
  assert.equal(state.steps.find((s) => s.id === 'confirm')?.output?.confirmed, false);
  assert.equal(state.steps.find((s) => s.id === 'act')?.status, 'pending');
});

test('a dead target is confirmed by quorum and the runbook goes on', async () => {
  const log = join(h.scratch, 'confirmed.log');
  const runbook = runbookFrom(`
name: confirm-dead
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: confirm
    action: { kind: confirm, target: { tcp: { host: 127.0.0.1, port: 1 } }, timeout: 500ms, samples: 3, interval: 100ms, quorum: 2 }
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
`);
  const handle = await h.start(runbook, testFault('svc-d', 'node-1'));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.equal(runsOf(log, 'act'), 1);
  const state = await h.state(handle);
  assert.equal(state.steps[0]?.output?.failures, 2);
});

test('an approval gate holds the step until someone approves it', async () => {
  const log = join(h.scratch, 'approval.log');
  const runbook = runbookFrom(`
name: gated
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: risky
    action: { kind: command, argv: ${sideEffect(log, 'risky')} }
    approval: { approvers: [oncall], timeout: 1h }
`);
  const handle = await h.start(runbook, testFault('svc-e', 'node-1'));
  await h.waitForStatus(handle, 'awaiting_approval');
  assert.equal(runsOf(log, 'risky'), 0);
  await handle.signal('approve', h.signed(handle.workflowId, 'approve', { step: 'risky', by: 'bob', channel: 'test', reason: 'go' }));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(runsOf(log, 'risky'), 1);
});

test('a dry run plans changing actions without running them', async () => {
  const log = join(h.scratch, 'dry.log');
  const runbook = runbookFrom(`
name: dry
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: change
    action: { kind: command, argv: ${sideEffect(log, 'change')} }
`);
  const handle = await h.start(runbook, testFault('svc-f', 'node-1'), true);
  const result = await handle.result();
  assert.equal(result.outcome, 'planned');
  assert.equal(runsOf(log, 'change'), 0);
  const state = await h.state(handle);
  assert.equal(state.steps[0]?.dryRun, true);
  assert.ok(state.steps[0]?.plan, 'a plan is recorded');
});

test('a resolved signal during confirmation closes the incident as recovered', async () => {
  const runbook = runbookFrom(`
name: confirm-slow
version: 1
match: { kinds: [node_down] }
steps:
  - id: confirm
    action: { kind: confirm, target: { tcp: { host: 127.0.0.1, port: 1 } }, timeout: 500ms, samples: 5, interval: 2s, quorum: 5 }
    timeout: 30s
`);
  const fault = testFault('svc-g', 'node-1');
  const handle = await h.start(runbook, fault);
  await h.waitForStatus(handle, 'confirming');
  await handle.signal('faultResolved', { ...fault, id: `${fault.id}-resolved`, status: 'resolved' });
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'recovered');
});
