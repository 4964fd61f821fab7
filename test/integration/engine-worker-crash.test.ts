import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ManagedProcess } from '../../stack/managed-process';
import { waitFor } from '../../stack/wait-for';
import { crash } from '../helpers/processes';
import { runbookFrom, runsOf, sideEffect, startEngineHarness, startWorkerProcess, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let h: EngineHarness;
const workers: ManagedProcess[] = [];
/** Files whose existence releases held side effects; created on the way out so no fixture outlives the test. */
const holds: string[] = [];

before(async () => {
  // Both worker processes are started here (not by the stack) so they get the same workflow code.
  stack = await startTestStack({ worker: false, intake: false });
  h = await startEngineHarness(stack, { worker: false, taskQueue: stack.config.taskQueue });
});

after(async () => {
  for (const file of holds) writeFileSync(file, '');
  for (const proc of workers) await proc.stop();
  await h?.close();
  await stack?.stop();
  if (h) rmSync(h.scratch, { recursive: true, force: true });
});


test('a worker killed mid-runbook and restarted completes the incident without rerunning a completed step', { timeout: 300_000 }, async () => {
  const log = join(h.scratch, 'crash.log');
  const release = join(h.scratch, 'release-two');
  holds.push(release);
  const node = JSON.stringify(process.execPath);
  const runbook = runbookFrom(`
name: crash-midway
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: one
    action: { kind: command, argv: ${sideEffect(log, 'one')} }
  - id: two
    action: { kind: command, argv: ${sideEffect(log, 'two', '--hold-until-file', release)} }
    # Running it again is harmless, so the restarted worker may retry it (a non-idempotent step would escalate as ambiguous).
    idempotent: true
    timeout: 5s
    retry: { max_attempts: 4, initial_interval: 200ms, max_interval: 1s }
  - id: three
    action: { kind: command, argv: ${sideEffect(log, 'three')} }
`);
  const first = await startWorkerProcess(stack, 'worker-first');
  workers.push(first);
  const handle = await h.start(runbook, testFault('svc-crash', 'node-1'));

  await waitFor('step two to start', 60_000, () => runsOf(log, 'two') >= 1);
  await crash(first);
  assert.equal(runsOf(log, 'one'), 1);
  assert.equal(runsOf(log, 'three'), 0, 'step three had not started when the worker died');

  workers.push(await startWorkerProcess(stack, 'worker-restarted'));
  writeFileSync(release, '');
  const result = await handle.result();

  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.equal(runsOf(log, 'one'), 1, 'the completed step did not run again');
  assert.equal(runsOf(log, 'three'), 1);
  assert.ok(runsOf(log, 'two') >= 1, 'the interrupted step ran');
  const state = await h.state(handle);
  const two = state.steps.find((s) => s.id === 'two');
  assert.equal(two?.status, 'succeeded');
  assert.equal(two?.attempts.at(-1)?.ok, true);
  assert.ok((two?.attempts.length ?? 0) >= 2, 'the attempt cut short by the crash was retried');
});
