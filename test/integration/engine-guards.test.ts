import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../../stack/wait-for';
import { guardIdFor, guardState } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { runbookFrom, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness, oneCommandRunbook } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let h: EngineHarness;

before(async () => {
  stack = await startTestStack();
  h = await startEngineHarness(stack);
});

after(async () => {
  await h?.close();
  await stack?.stop();
});

const node = JSON.stringify(process.execPath);

function isolatingRunbook(log: string, gate: string, extraSettings = ''): string {
  return `
name: isolating
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  blast_radius: { max_isolated: 1, max_per_hour: 10 }${extraSettings}
steps:
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(log, 'isolate-{{fault.target}}')} } }
    isolation: provides
    approval: false
  - id: hold
    action: { kind: command, argv: ${sideEffect(log, 'hold-{{fault.target}}', '--hold-until-file', gate)} }
    timeout: 2m
`;
}

test('with a budget of 1, a second target\'s isolation waits for approval while the first is isolated', async () => {
  const log = join(h.scratch, 'budget.log');
  const gate = join(h.scratch, 'budget-gate');
  const runbook = runbookFrom(isolatingRunbook(log, gate));
  const first = await h.start(runbook, testFault('fleet', 'node-1'));
  await waitFor('the first target to be isolated', 30_000, () => runsOf(log, 'isolate-node-1') === 1);

  const second = await h.start(runbook, testFault('fleet', 'node-2'));
  const waiting = await h.waitForStatus(second, 'awaiting_approval');
  assert.equal(runsOf(log, 'isolate-node-2'), 0);
  assert.match(waiting.requests.at(-1)?.reason ?? '', /blast-radius budget: 1 target\(s\) already isolated/);
  const guard = await h.client.workflow.getHandle(guardIdFor('fleet')).query(guardState);
  assert.deepEqual(Object.keys(guard.holders), ['incident/fleet/node-1']);

  await second.signal('approve', h.signed(second.workflowId, 'approve', { step: 'isolate', by: 'carol', channel: 'test', reason: 'node-1 is known' }));
  await waitFor('the approved isolation to run', 30_000, () => runsOf(log, 'isolate-node-2') === 1);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(gate, '');
  assert.equal((await first.result()).status, 'resolved');
  assert.equal((await second.result()).status, 'resolved');
  await waitFor('both leases to be released', 30_000, async () => {
    const g = await h.client.workflow.getHandle(guardIdFor('fleet')).query(guardState);
    return Object.keys(g.holders).length === 0;
  });
});

test('runbook pause holds new remediation steps until runbook resume', async () => {
  const log = join(h.scratch, 'pause.log');
  const paused = await runCli(['pause', '--reason', 'maintenance window'], stack.env);
  assert.equal(paused.code, 0, paused.stderr);
  const runbook = oneCommandRunbook('pausable', log);
  const handle = await h.start(runbook, testFault('pausing', 'node-1'));
  await waitFor('the incident to report the pause', 30_000, async () => (await h.state(handle)).pausedReason === 'maintenance window');
  assert.equal(runsOf(log, 'act'), 0);
  const resumed = await runCli(['resume'], stack.env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal((await handle.result()).status, 'resolved');
  assert.equal(runsOf(log, 'act'), 1);
});

test('a target with too many recent incidents needs a human before remediation', async () => {
  const log = join(h.scratch, 'flap.log');
  const runbook = runbookFrom(`
name: flappy
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  flap: { max_incidents: 3, window: 1h }
steps:
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
`);
  for (let i = 1; i <= 2; i++) {
    const handle = await h.start(runbook, testFault('flapper', 'node-1'));
    assert.equal((await handle.result()).status, 'resolved');
  }
  assert.equal(runsOf(log, 'act'), 2);
  await waitFor('visibility to list both incidents', 30_000, async () => {
    let n = 0;
    for await (const _ of h.client.workflow.list({ query: `WorkflowId = 'incident/flapper/node-1'` })) n += 1;
    return n >= 2;
  });
  const third = await h.start(runbook, testFault('flapper', 'node-1'));
  const waiting = await h.waitForStatus(third, 'awaiting_approval');
  assert.match(waiting.requests.at(-1)?.reason ?? '', /flapping: 3 incidents/);
  assert.equal(runsOf(log, 'act'), 2);
  await third.signal('reject', h.signed(third.workflowId, 'reject', { step: 'act', by: 'dave', channel: 'test', reason: 'leave it down' }));
  const result = await third.result();
  assert.equal(result.status, 'aborted');
  assert.equal(runsOf(log, 'act'), 2);
});
