import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { AuditRecord } from '../../audit/audit-record';
import { freePort } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { decide, faultObserved } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { auditedPathSteps, runbookFrom, sideEffect, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';
import type { TestStack } from '../helpers/stack';

const node = JSON.stringify(process.execPath);
let setup: EngineStack | undefined;
let stack: TestStack;
let h: EngineHarness;
let dir: string;

before(async () => {
  setup = await startEngineStack({ roster: 'groups:\n  oncall: { members: [alice] }\n', users: ['alice', 'mallory'] });
  ({ stack, h, dir } = setup);
});

after(() => setup?.close());

async function post(id: string, who: string, body: object): Promise<number> {
  const res = await (setup as EngineStack).postDecision(id, who, body);
  await res.body?.cancel();
  return res.status;
}

test('the audit of a finished incident holds faults, routing, steps, approvals, compensations, outcome and timings', async () => {
  const log = join(dir, 'audit.log');
  const gate = join(dir, 'fix-gate');
  const deadPort = await freePort();
  const runbook = runbookFrom(`
name: audited
version: 3
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
${auditedPathSteps(log, deadPort, { compensateFlaky: true })}  - id: fix
    action: { kind: command, argv: ${sideEffect(log, 'fix', '--until-file', gate)} }
    retry: { max_attempts: 2, initial_interval: 100ms, non_retryable: [CommandFailed] }
  - id: restore
    action: { kind: restore, command: { argv: ${sideEffect(log, 'restore')} } }
    approval: false
`);
  const first = testFault('au-a', 'node-1');
  const second = testFault('au-a', 'node-1');
  const handle = await h.start(runbook, first);
  const id = 'incident/au-a/node-1';
  await handle.signal(faultObserved, second);
  await h.waitForStatus(handle, 'awaiting_approval');
  assert.equal(await post(id, 'mallory', { verdict: 'approve', reason: 'let me' }), 403);
  assert.equal(await post(id, 'alice', { verdict: 'approve', reason: 'isolate it' }), 200);
  await h.waitForStatus(handle, 'escalated');
  writeFileSync(gate, '');
  await handle.signal(decide, h.signed(handle.workflowId, 'retry', { action: 'retry', step: 'fix', by: 'alice', channel: 'test', reason: 'gate fixed' }));
  assert.equal((await handle.result()).status, 'resolved');

  let out = '';
  await waitFor('audit readable', 30_000, async () => {
    const run = await runCli(['audit', 'au-a/node-1', '--json'], stack.env);
    out = run.stdout;
    return run.code === 0;
  });
  const json: unknown = JSON.parse(out);
  const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schemas', 'audit.schema.json'), 'utf8')) as object);
  assert.equal(validate({ ...(json as object), steps: 'not a list' }), false, 'the published schema rejects a malformed record');
  assert.ok(validate(json), `audit --json does not match docs/schemas/audit.schema.json: ${JSON.stringify(validate.errors)}`);
  const record = AuditRecord.parse(json);
  assert.equal(record.incidentId, id);
  assert.match(record.runId, /^[0-9a-f-]{36}$/);
  assert.deepEqual(record.faults.eventIds, [first.id, second.id]);
  assert.equal(record.faults.count, 2);
  assert.deepEqual(record.routing, { runbook: 'audited', version: 3, hash: runbook.hash });

  const step = (sid: string) => record.steps.find((s) => s.id === sid);
  assert.equal(step('confirm')?.status, 'succeeded');
  const isolateEnv = (step('isolate')?.input as { command: { env: Record<string, string> } }).command.env;
  assert.deepEqual(isolateEnv, { API_TOKEN: '[redacted]', MODE: 'drain' });
  assert.deepEqual(step('flaky')?.attempts.map((a) => a.ok), [false, true]);
  assert.match(step('flaky')?.attempts[0]?.error ?? '', /./);
  assert.equal(step('fix')?.attempts.length, 2);
  assert.equal(step('fix')?.status, 'succeeded');
  for (const s of record.steps) {
    assert.ok(s.durationMs !== undefined && s.durationMs >= 0, `${s.id} has a duration`);
    assert.ok(s.output, `${s.id} has an output`);
  }

  const approval = record.requests.find((r) => r.type === 'approval');
  assert.equal(approval?.step, 'isolate');
  assert.deepEqual(approval?.approvers, ['oncall']);
  assert.equal(approval?.outcome, 'approve');
  assert.deepEqual(
    approval?.decisions.map((d) => [d.by, d.channel, d.verdict, d.accepted, d.reason]),
    [['mallory', 'http', 'approve', false, 'let me'], ['alice', 'http', 'approve', true, 'isolate it']],
  );
  assert.match(approval?.decisions[0]?.note ?? '', /not an approver/);
  const escalation = record.requests.find((r) => r.type === 'escalation');
  assert.equal(escalation?.outcome, 'retry');
  assert.equal(escalation?.decisions[0]?.by, 'alice');

  assert.deepEqual(record.compensations, [], 'escalating first undoes nothing, and the retry healed');
  assert.equal(record.status, 'resolved');
  assert.equal(record.outcome, 'healed');
  const t = record.timings;
  for (const [name, v] of Object.entries(t)) assert.equal(typeof v, 'number', `${name} is measured`);
  assert.ok((t.toConfirmMs ?? 0) <= (t.toIsolateMs ?? 0) && (t.toIsolateMs ?? 0) <= (t.toRestoreTrafficMs ?? 0) && (t.toRestoreTrafficMs ?? 0) <= (t.toRecoverMs ?? 0));

  const text = await runCli(['audit', id], stack.env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /REFUSED  approve by mallory via http/);
  assert.match(text.stdout, /routing: audited v3 sha256 /);
  assert.match(text.stdout, new RegExp(second.id));
});

test('the approval API lists incidents by status and time and reads a closed one', async () => {
  const runbook = runbookFrom(`
name: listed
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: fix
    action: { kind: command, argv: ${sideEffect(join(dir, 'listed.log'), 'fix')} }
`);
  const handle = await h.start(runbook, testFault('au-list', 'node-2'));
  assert.equal((await handle.result()).status, 'resolved');
  const get = (path: string): Promise<Response> => fetch(`${(setup as EngineStack).apiUrl}${path}`, { headers: { authorization: `Bearer ${(setup as EngineStack).tokens.alice ?? ''}` } });

  let listed: { incidentId: string; incidentStatus?: string }[] = [];
  await waitFor('the API to list the closed incident', 15_000, async () => {
    const res = await get('/incidents?status=resolved&since=1h');
    listed = ((await res.json()) as { incidents: typeof listed }).incidents;
    return listed.some((i) => i.incidentId === 'incident/au-list/node-2');
  }, 250);
  assert.ok(listed.every((i) => i.incidentStatus === 'resolved'));

  const bad = await get('/incidents?status=Not%20one');
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /^status "Not one": not a valid status$/);

  const one = await get('/incidents/au-list/node-2');
  assert.equal(one.status, 200);
  const state = (await one.json()) as { incidentId: string; status: string };
  assert.deepEqual([state.incidentId, state.status], ['incident/au-list/node-2', 'resolved']);
  const missing = await get('/incidents/au-list/nobody');
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
