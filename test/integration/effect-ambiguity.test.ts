import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { kvEffectLedger, ledgerKey, openEffectsBucket } from '../../activities/effect-ledger';
import type { ManagedProcess } from '../../stack/managed-process';
import { waitFor } from '../../stack/wait-for';
import { crash } from '../helpers/processes';
import { decide } from '../../workflows/messages';
import { runbookFrom, runsOf, sideEffect, startEngineHarness, startWorkerProcess, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let h: EngineHarness;
let nc: NatsConnection;
const workers: ManagedProcess[] = [];
let release = '';

before(async () => {
  stack = await startTestStack({ worker: false, intake: false });
  h = await startEngineHarness(stack, { worker: false, taskQueue: stack.config.taskQueue });
  nc = await stack.natsConnect('worker');
  release = join(h.scratch, 'release');
});

after(async () => {
  if (release) writeFileSync(release, '');
  for (const proc of workers) await proc.stop();
  await nc?.close();
  await h?.close();
  await stack?.stop();
  if (h) rmSync(h.scratch, { recursive: true, force: true });
});


/** A runbook whose one step appends a line, then holds until the release file exists. */
function appendRunbook(log: string, extra: string): ReturnType<typeof runbookFrom> {
  return runbookFrom(`
name: append-once
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${JSON.stringify(process.execPath)}] }
steps:
  - id: append
    action: { kind: command, argv: ${sideEffect(log, 'append', '--hold-until-file', release)} }
    timeout: 4s
    retry: { max_attempts: 3, initial_interval: 200ms, max_interval: 1s }
${extra}
`);
}

test('the KV ledger refuses a second claim of the same start and keeps records across reads', async () => {
  const ledger = kvEffectLedger(() => openEffectsBucket(nc.jetstream()));
  const key = ledgerKey(`incident/kv/check/${Date.now()}/step/e0`);
  await ledger.claim(key, { state: 'started', attempt: 1, at: 'now' }, undefined);
  await assert.rejects(ledger.claim(key, { state: 'started', attempt: 2, at: 'now' }, undefined), /wrong last sequence|key exists/i);
  const entry = await ledger.read(key);
  assert.equal(entry?.record.state, 'started');
  await assert.rejects(ledger.claim(key, { state: 'started', attempt: 2, at: 'now' }, (entry?.revision ?? 0) + 5), /wrong last sequence/i);
  await ledger.claim(key, { state: 'started', attempt: 2, at: 'later' }, entry?.revision);
  assert.equal((await ledger.read(key))?.record.attempt, 2);
});

test('a command whose worker died after it ran is escalated, not rerun; rerun and idempotent steps run it again', { timeout: 240_000 }, async () => {
  const logs = { escalate: join(h.scratch, 'escalate.log'), rerun: join(h.scratch, 'rerun.log'), idem: join(h.scratch, 'idem.log') };
  const first = await startWorkerProcess(stack, 'worker-first');
  workers.push(first);
  const escalating = await h.start(appendRunbook(logs.escalate, ''), testFault('svc-effects', 'escalate'));
  const rerunning = await h.start(appendRunbook(logs.rerun, '    on_ambiguous: rerun'), testFault('svc-effects', 'rerun'));
  const idempotent = await h.start(appendRunbook(logs.idem, '    idempotent: true'), testFault('svc-effects', 'idem'));

  // Every command has appended its line and is now waiting; the completion will never be reported.
  await waitFor('each command to run once', 60_000, () => Object.values(logs).every((log) => runsOf(log, 'append') === 1));
  await crash(first);
  writeFileSync(release, '');
  workers.push(await startWorkerProcess(stack, 'worker-restarted'));

  const escalated = await h.waitForStatus(escalating, 'escalated', 90_000);
  const request = escalated.requests.find((r) => r.type === 'escalation' && r.step === 'append');
  assert.match(request?.reason ?? '', /AmbiguousOutcome/);
  assert.equal(runsOf(logs.escalate, 'append'), 1, 'the ambiguous command did not run twice');

  const rerunResult = await rerunning.result();
  assert.equal(rerunResult.outcome, 'healed');
  assert.equal(runsOf(logs.rerun, 'append'), 2, 'on_ambiguous: rerun ran the command again on purpose');
  const idemResult = await idempotent.result();
  assert.equal(idemResult.outcome, 'healed');
  assert.equal(runsOf(logs.idem, 'append'), 2, 'an idempotent step is simply retried');

  assert.equal(runsOf(logs.escalate, 'append'), 1, 'still once while a human decides');
  await escalating.signal(decide, h.signed(escalating.workflowId, 'retry', { action: 'retry', step: 'append', by: 'alice', channel: 'test', reason: 'checked: rerun is safe', requestId: request?.requestId }));
  const decided = await escalating.result();
  assert.equal(decided.outcome, 'healed');
  assert.equal(runsOf(logs.escalate, 'append'), 2, 'a human retry runs it despite the unfinished start');
});
