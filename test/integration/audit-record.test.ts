import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tokenAuthenticator } from '../../api/auth';
import { startApiServer } from '../../api/server';
import Ajv2020 from 'ajv/dist/2020';
import { AuditRecord } from '../../audit/audit-record';
import { createToken } from '../../config/tokens';
import { closeHttpServer } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { freePort } from '../../stack/ports';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { decide, faultObserved } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { runbookFrom, sideEffect, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { startTestStack, type TestStack } from '../helpers/stack';

const node = JSON.stringify(process.execPath);
const dir = mkdtempSync(join(tmpdir(), 'audit-'));
const tokens: Record<string, string> = {};
let stack: TestStack;
let h: EngineHarness;
let api: Server;
let apiUrl: string;

before(async () => {
  const rosterFile = join(dir, 'roster.yaml');
  const tokensFile = join(dir, 'tokens.yaml');
  writeFileSync(rosterFile, 'groups:\n  oncall: { members: [alice] }\n');
  for (const who of ['alice', 'mallory']) tokens[who] = await createToken(tokensFile, who);
  stack = await startTestStack({ overrides: { rosterFile, tokensFile } });
  h = await startEngineHarness(stack);
  const port = await freePort();
  api = await startApiServer({ client: h.client, auth: tokenAuthenticator(tokensFile), logger: createLogger('test-api', 'warn'), port });
  apiUrl = `http://127.0.0.1:${port}`;
});

after(async () => {
  if (api) await closeHttpServer(api);
  await h?.close();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(id: string, who: string, body: object): Promise<number> {
  const res = await fetch(`${apiUrl}/incidents/${encodeURIComponent(id)}/decisions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens[who] ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
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
  - id: confirm
    action: { kind: confirm, target: { tcp: { host: 127.0.0.1, port: ${deadPort} } }, timeout: 500ms, samples: 2, interval: 100ms, quorum: 2 }
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(log, 'isolate')}, env: { API_TOKEN: hunter2, MODE: drain } } }
    approval: { approvers: [oncall], timeout: 1m, on_timeout: reject }
  - id: flaky
    action: { kind: command, argv: ${sideEffect(log, 'flaky', '--fail-until', '2')} }
    retry: { max_attempts: 3, initial_interval: 100ms, max_interval: 100ms }
    compensate: { kind: command, argv: ${sideEffect(log, 'undo-flaky')} }
  - id: fix
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
  await handle.signal(decide, { action: 'retry', step: 'fix', by: 'alice', channel: 'test', reason: 'gate fixed' });
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
