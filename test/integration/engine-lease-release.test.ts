import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { waitFor } from '../../stack/wait-for';
import { guardIdFor, guardState } from '../../workflows/messages';
import { runbookFrom, runsOf, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * An incident holding its service's only isolation lease (max_isolated: 1)
 * ends without returning normally; the next target of the service must get
 * the lease at once, not wait for a human.
 */

let stack: TestStack;
let h: EngineHarness;
const gates: string[] = [];

before(async () => {
  stack = await startTestStack();
  h = await startEngineHarness(stack);
});

after(async () => {
  for (const gate of gates) writeFileSync(gate, '');
  await h?.close();
  await stack?.stop();
});

const node = JSON.stringify(process.execPath);

/** Isolates the target, then runs `after` (a step that holds the incident while it keeps the lease). */
function leaseRunbook(log: string, afterIsolate: string): string {
  return `
name: lease-holder
version: 1
match: { kinds: [node_down] }
settings:
  allowed_executables: [${node}]
  blast_radius: { max_isolated: 1, max_per_hour: 20 }
steps:
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(log, 'isolate-{{fault.target}}')} } }
    isolation: provides
    approval: false
${afterIsolate}`;
}

function holdStep(log: string, gate: string): string {
  return `  - id: hold
    action: { kind: command, argv: ${sideEffect(log, 'hold-{{fault.target}}', '--hold-until-file', gate)} }
    timeout: 5m
`;
}

async function holders(service: string): Promise<string[]> {
  return Object.keys((await h.client.workflow.getHandle(guardIdFor(service)).query(guardState)).holders);
}

/** A second target of the service isolates without asking anyone, and no stale holder is left. */
async function secondTargetIsolatesAtOnce(service: string, log: string): Promise<void> {
  const gate = join(h.scratch, `${service}-second-gate`);
  gates.push(gate);
  const second = await h.start(runbookFrom(leaseRunbook(log, holdStep(log, gate))), testFault(service, 'node-2'));
  await waitFor('the second target to be isolated', 60_000, async () => runsOf(log, 'isolate-node-2') === 1 || (await h.state(second)).status === 'awaiting_approval');
  const state = await h.state(second);
  assert.equal(state.requests.length, 0, `the second incident asked a human: ${state.requests.at(-1)?.reason ?? ''}`);
  assert.equal(runsOf(log, 'isolate-node-2'), 1);
  assert.deepEqual(await holders(service), [`incident/${service}/node-2`]);
  writeFileSync(gate, '');
  assert.equal((await second.result()).status, 'resolved');
  await waitFor('the second lease to be given back', 30_000, async () => (await holders(service)).length === 0);
}

test('an incident that fails with a thrown failure while holding the lease gives it back', { timeout: 240_000 }, async () => {
  const log = join(h.scratch, 'thrown.log');
  // Each approval round times out and escalates until the gate gives up with ApprovalExhausted.
  const exhausting = `  - id: ask
    action: { kind: command, argv: ${sideEffect(log, 'ask')} }
    approval: { approvers: [oncall], timeout: 1ms, on_timeout: escalate }
`;
  const first = await h.start(runbookFrom(leaseRunbook(log, exhausting)), testFault('lease-thrown', 'node-1'));
  await assert.rejects(first.result(), (err: unknown) => err instanceof WorkflowFailedError && /approval escalated too many times/.test(String(err.cause?.message)));
  assert.equal(runsOf(log, 'isolate-node-1'), 1);
  assert.equal(runsOf(log, 'ask'), 0);
  await waitFor('the failed incident\'s lease to be given back', 30_000, async () => (await holders('lease-thrown')).length === 0);
  await secondTargetIsolatesAtOnce('lease-thrown', log);
});

test('a cancelled incident gives its lease back', { timeout: 180_000 }, async () => {
  const log = join(h.scratch, 'cancelled.log');
  const gate = join(h.scratch, 'cancelled-gate');
  gates.push(gate);
  const first = await h.start(runbookFrom(leaseRunbook(log, holdStep(log, gate))), testFault('lease-cancelled', 'node-1'));
  await waitFor('the first target to hold', 60_000, () => runsOf(log, 'hold-node-1') === 1);
  assert.deepEqual(await holders('lease-cancelled'), ['incident/lease-cancelled/node-1']);
  await first.cancel();
  await assert.rejects(first.result(), WorkflowFailedError);
  await waitFor('the cancelled incident\'s lease to be given back', 30_000, async () => (await holders('lease-cancelled')).length === 0);
  await secondTargetIsolatesAtOnce('lease-cancelled', log);
});

test('the lease of a terminated incident is reclaimed when another target asks', { timeout: 180_000 }, async () => {
  const log = join(h.scratch, 'terminated.log');
  const gate = join(h.scratch, 'terminated-gate');
  gates.push(gate);
  const first = await h.start(runbookFrom(leaseRunbook(log, holdStep(log, gate))), testFault('lease-terminated', 'node-1'));
  await waitFor('the first target to hold', 60_000, () => runsOf(log, 'hold-node-1') === 1);
  await first.terminate('operator ended it by hand');
  // Termination runs no workflow code, so the lease is still recorded until someone needs it.
  assert.deepEqual(await holders('lease-terminated'), ['incident/lease-terminated/node-1']);
  await secondTargetIsolatesAtOnce('lease-terminated', log);
});
