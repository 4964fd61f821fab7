import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { decide } from '../../workflows/messages';
import { runbookFrom, runOrder, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * A final failure under `on_failure: escalate` asks a human while every
 * isolation is still in force: retry runs fenced as before, abort undoes, and
 * a step that needs an isolation never runs without it.
 */

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

const FENCED = join(PROJECT_ROOT, 'test', 'fixtures', 'engine', 'fenced.js');

/** Files of one incident: the log, the isolation marker, and the gates its steps wait for. */
function files(name: string): { log: string; marker: string; stepGate: string; isolateGate: string } {
  const dir = join(h.scratch, name);
  mkdirSync(dir);
  return { log: join(dir, 'log'), marker: join(dir, 'isolated'), stepGate: join(dir, 'step-gate'), isolateGate: join(dir, 'isolate-gate') };
}

/** isolate (provides, undone by unisolate) → switch (requires isolation, fails until its gate exists) → after. */
function fencedRunbook(name: string, f: ReturnType<typeof files>, isolateGated = false): ReturnType<typeof runbookFrom> {
  const argv = (...a: string[]) => JSON.stringify([process.execPath, FENCED, ...a]);
  return runbookFrom(`
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${JSON.stringify(process.execPath)}] }
steps:
  - id: isolate
    action: { kind: isolate, command: { argv: ${isolateGated ? argv('isolate', f.log, f.marker, f.isolateGate) : argv('isolate', f.log, f.marker)} } }
    compensate: { kind: command, argv: ${argv('unisolate', f.log, f.marker)} }
    isolation: provides
    approval: false
    retry: { max_attempts: 1 }
  - id: switch
    action: { kind: command, argv: ${argv('step', f.log, f.marker, f.stepGate)} }
    isolation: requires
    retry: { max_attempts: 2, initial_interval: 100ms }
    on_failure: escalate
`);
}

test('at escalation the isolation is still in force, and retry runs the step again under the same epoch', async () => {
  const f = files('retry');
  const handle = await h.start(fencedRunbook('fenced-retry', f), testFault('eo-a', 'node-1'));
  const escalated = await h.waitForStatus(handle, 'escalated');
  assert.deepEqual(runOrder(f.log), ['isolate', 'step epoch=1 isolated=yes', 'step epoch=1 isolated=yes'], 'nothing was undone before asking');
  assert.ok(existsSync(f.marker), 'the target is still isolated while the human decides');
  assert.deepEqual(escalated.compensations, []);
  assert.equal(escalated.epoch, 1);
  assert.equal(escalated.requests.at(-1)?.type, 'escalation');

  writeFileSync(f.stepGate, '');
  await handle.signal(decide, h.signed(handle.workflowId, 'retry', { action: 'retry', step: 'switch', by: 'alice', channel: 'test', reason: 'fixed the standby' }));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.deepEqual(runOrder(f.log).slice(3), ['step epoch=1 isolated=yes'], 'the retry ran fenced, with the epoch of the same isolation');
  assert.deepEqual(result.state.compensations, []);
  assert.equal(result.state.epoch, 1);
});

test('abort undoes the isolation only after the human chose it, then closes the incident aborted', async () => {
  const f = files('abort');
  const handle = await h.start(fencedRunbook('fenced-abort', f), testFault('eo-b', 'node-1'));
  await h.waitForStatus(handle, 'escalated');
  assert.ok(existsSync(f.marker), 'still isolated at escalation');
  assert.ok(!runOrder(f.log).includes('unisolate'));

  await handle.signal(decide, h.signed(handle.workflowId, 'abort', { action: 'abort', step: 'switch', by: 'alice', channel: 'test', reason: 'giving up' }));
  const result = await handle.result();
  assert.equal(result.status, 'aborted');
  assert.equal(result.outcome, 'aborted after switch failed');
  assert.equal(runOrder(f.log).at(-1), 'unisolate');
  assert.ok(!existsSync(f.marker), 'the compensation restored the target');
  assert.deepEqual(result.state.compensations.map((c) => [c.forStep, c.ok]), [['isolate', true]]);
  assert.equal(result.state.steps.find((s) => s.id === 'isolate')?.status, 'compensated');
});

test('a step that requires isolation is refused, not run, when the isolation was skipped', { timeout: 120_000 }, async () => {
  const f = files('skipped-isolation');
  const handle = await h.start(fencedRunbook('fenced-skip', f, true), testFault('eo-c', 'node-1'));
  await h.waitForStatus(handle, 'escalated');
  await handle.signal(decide, h.signed(handle.workflowId, 'skip', { action: 'skip', step: 'isolate', by: 'alice', channel: 'test', reason: 'try without isolating' }));
  const result = await handle.result();
  assert.equal(result.status, 'aborted');
  assert.equal(result.outcome, 'isolation not in force at switch');
  assert.ok(!runOrder(f.log).some((l) => l.startsWith('step')), 'the fenced step never ran');
  const sw = result.state.steps.find((s) => s.id === 'switch');
  assert.equal(sw?.status, 'failed');
  assert.equal(sw?.lastError, 'isolation not in force: switch requires the isolation of isolate, which was never established');
});
