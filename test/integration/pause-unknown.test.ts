import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ManagedProcess } from '../../stack/managed-process';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { oneCommandRunbook, runsOf, startEngineHarness, startWorkerProcess, testFault, type EngineHarness } from '../helpers/engine';
import { startServerAgain, stopServer } from '../helpers/server-restart';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * A worker that started while NATS was down cannot read the pause switch.
 * Not knowing is not "not paused": remediation holds, says why, and goes on
 * once the switch can be read.
 */

let stack: TestStack;
let h: EngineHarness;
let worker: ManagedProcess | undefined;

before(async () => {
  stack = await startTestStack({ worker: false, intake: false });
  h = await startEngineHarness(stack, { worker: false, taskQueue: stack.config.taskQueue });
});

after(async () => {
  await worker?.stop();
  await h?.close();
  await stack?.stop();
  if (h) rmSync(h.scratch, { recursive: true, force: true });
});

test('a worker started while NATS is down holds remediation until the pause state is known', { timeout: 300_000 }, async () => {
  await stopServer(stack, 'nats');
  worker = await startWorkerProcess(stack, 'worker-without-nats');
  const log = join(h.scratch, 'unknown.log');
  const runbook = oneCommandRunbook('pause-unknown', log);
  const handle = await h.start(runbook, testFault('pause-unknown', 'node-1'));
  await waitFor('the step to be held for an unknown pause state', 60_000, async () => /^pause state unknown: /.test((await h.state(handle)).pausedReason ?? ''));
  assert.equal(runsOf(log, 'act'), 0, 'the step ran although nobody knew whether remediation was paused');

  const shown = await runCli(['show', 'pause-unknown/node-1'], stack.env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /held\s+act since \S+: pause state unknown: .*runbook_control/);

  await startServerAgain(stack, 'nats');
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.equal(runsOf(log, 'act'), 1);
  assert.equal(result.state.pausedReason, undefined);
});
