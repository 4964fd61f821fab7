import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { action, harness, rejectsWith, request, waitFor } from '../fixtures/activities/harness';
import { alive } from '../helpers/processes';

const NODE = process.execPath;
const ALLOW = [NODE];

describe('command actions running real programs', () => {
  let dir: string;
  const h = harness();

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-command-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a command gets only its own env plus the incident, step and epoch variables', async () => {
    const script = 'console.log(JSON.stringify(process.env))';
    const cmd = action({ kind: 'command', argv: [NODE, '-e', script], env: { GREETING: 'hi there; $(no shell)' } });
    const result = await h.runAction(request(cmd, { allowedExecutables: ALLOW, stepId: 'run', epoch: 3 }));
    const env = JSON.parse(result.output.stdout as string) as Record<string, string>;
    assert.equal(env.GREETING, 'hi there; $(no shell)');
    assert.equal(env.RUNBOOK_INCIDENT_ID, 'incident/app/primary');
    assert.equal(env.RUNBOOK_STEP_ID, 'run');
    assert.equal(env.RUNBOOK_ISOLATION_EPOCH, '3');
    assert.equal(env.HOME, undefined, 'the worker environment is not inherited');
    assert.equal(result.output.exit_code, 0);
    assert.equal(result.output.stderr, '');
  });

  test('a command gets the step\'s idempotency key in RUNBOOK_IDEMPOTENCY_KEY', async () => {
    const script = 'console.log(process.env.RUNBOOK_IDEMPOTENCY_KEY)';
    const cmd = action({ kind: 'command', argv: [NODE, '-e', script] });
    const result = await h.runAction(request(cmd, { allowedExecutables: ALLOW, stepId: 'run', idempotencyKey: 'incident/app/primary/run-1/run/e0' }));
    assert.equal(result.output.stdout, 'incident/app/primary/run-1/run/e0\n');
  });

  test('an expected non-zero exit code succeeds with that code as output', async () => {
    const cmd = action({ kind: 'command', argv: [NODE, '-e', 'console.log("degraded"); process.exit(3)'], expect_exit_code: 3 });
    const result = await h.runAction(request(cmd, { allowedExecutables: ALLOW }));
    assert.equal(result.output.exit_code, 3);
    assert.equal(result.output.stdout, 'degraded\n');
  });

  test('exiting 0 when another code is expected fails as CommandFailed', async () => {
    const cmd = action({ kind: 'command', argv: [NODE, '-e', ''], expect_exit_code: 3 });
    const failure = await rejectsWith(h.runAction(request(cmd, { allowedExecutables: ALLOW })), 'CommandFailed', false);
    assert.match(failure.message, /exited 0, expected 3/);
  });

  test('output beyond max_output is cut and flagged', async () => {
    const cmd = action({ kind: 'command', argv: [NODE, '-e', 'process.stdout.write("x".repeat(5000))'], max_output: 100 });
    const result = await h.runAction(request(cmd, { allowedExecutables: ALLOW }));
    assert.equal(result.output.stdout, 'x'.repeat(100));
    assert.equal(result.output.stdout_truncated, true);
  });

  test('a command over its deadline fails retryably with Timeout and leaves no process behind', async () => {
    const pidFile = path.join(dir, 'sleeper.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const cmd = action({ kind: 'command', argv: [NODE, '-e', script] });
    await rejectsWith(h.runAction(request(cmd, { allowedExecutables: ALLOW, timeoutMs: 700 })), 'Timeout', false);
    const pid = Number(await readFile(pidFile, 'utf8'));
    await waitFor(() => alive(pid), (a) => !a);
  });

  test('the action deadline defaults to just under the activity start-to-close timeout', async () => {
    const short = harness(undefined, 1_000);
    const cmd = action({ kind: 'command', argv: [NODE, '-e', 'setTimeout(() => {}, 5000)'] });
    const started = Date.now();
    await rejectsWith(short.runAction(request(cmd, { allowedExecutables: ALLOW })), 'Timeout', false);
    assert.ok(Date.now() - started < 4_000);
  });
});
