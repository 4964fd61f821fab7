import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  Action,
  Condition,
  DEFAULT_APPROVERS,
  Duration,
  Runbook,
  Step,
  parseDuration,
  requiresApproval,
  type RunbookInput,
} from '../../schemas/runbook';

const ROOT = join(__dirname, '..', '..');

function shipped(name: string): unknown {
  return parse(readFileSync(join(ROOT, 'runbooks', name), 'utf8'));
}

function minimal(overrides: Partial<RunbookInput> = {}): RunbookInput {
  return {
    name: 'minimal',
    version: 1,
    match: { kinds: ['test_fault'] },
    steps: [{ id: 'wait', action: { kind: 'wait', duration: '1s' } }],
    ...overrides,
  };
}

function messages(result: { success: boolean; error?: { issues: { message: string }[] } }): string[] {
  return result.error?.issues.map((i) => i.message) ?? [];
}

describe('runbook schema', () => {
  test('accepts the shipped failover runbook', () => {
    const parsed = Runbook.safeParse(shipped('failover.yaml'));
    assert.equal(parsed.success, true, JSON.stringify(parsed.error?.issues));
    assert.deepEqual(
      parsed.data?.steps.map((s) => s.action.kind),
      ['confirm', 'isolate', 'start_service', 'probe', 'sync_data', 'restore_data', 'restore', 'restore_data', 'restart_service', 'verify', 'restore'],
    );
  });

  test('accepts the shipped restart-in-place runbook', () => {
    const parsed = Runbook.safeParse(shipped('restart-in-place.yaml'));
    assert.equal(parsed.success, true, JSON.stringify(parsed.error?.issues));
    assert.deepEqual(parsed.data?.match.kinds, ['process_unhealthy']);
  });

  test('fills in step, retry, settings and match defaults so the snapshot is explicit', () => {
    const runbook = Runbook.parse(minimal());
    const step = runbook.steps[0];
    assert.ok(step);
    assert.equal(step.timeout, '60s');
    assert.equal(step.on_failure, 'escalate');
    assert.deepEqual(step.retry, { max_attempts: 3, initial_interval: '1s', backoff: 2, max_interval: '30s' });
    assert.equal(step.approval, false);
    assert.equal(runbook.match.priority, 0);
    assert.equal(runbook.settings.compensate_on_failure, true);
    assert.equal(runbook.settings.dry_run, false);
    assert.deepEqual(runbook.params, {});
  });

  test('rejects unknown fields instead of ignoring a typo', () => {
    const result = Runbook.safeParse({ ...minimal(), setings: {} });
    assert.equal(result.success, false);
    assert.equal(result.error?.issues[0]?.code, 'unrecognized_keys');
  });

  test('rejects a version that is not a positive integer', () => {
    assert.equal(Runbook.safeParse(minimal({ version: 0 })).success, false);
    assert.equal(Runbook.safeParse({ ...minimal(), version: '1.0.0' }).success, false);
  });

  test('rejects a command whose argv is a shell string, saying why', () => {
    const result = Action.safeParse({ kind: 'command', argv: 'rm -rf /; reboot' });
    assert.deepEqual(messages(result), ['argv must be a list; shell strings are not allowed']);
  });

  test('rejects an unknown action kind and lists the known ones', () => {
    const result = Action.safeParse({ kind: 'reboot' });
    assert.equal(result.success, false);
    assert.match(messages(result)[0] ?? '', /unknown action kind "reboot"; expected one of: probe, confirm/);
    assert.deepEqual(result.error?.issues[0]?.path, ['kind']);
  });

  test('requires exactly one way to isolate', () => {
    const none = Action.safeParse({ kind: 'isolate' });
    assert.match(messages(none)[0] ?? '', /isolate needs one of: haproxy, webhook, command/);
    const two = Action.safeParse({
      kind: 'isolate',
      haproxy: { socket: '/s', backend: 'b', server: 'x' },
      command: { argv: ['true'] },
    });
    assert.match(messages(two)[0] ?? '', /takes only one of/);
  });

  test('defaults an haproxy isolation to maint with read-back, and a restore to ready', () => {
    const isolate = Action.parse({ kind: 'isolate', haproxy: { socket: '/s', backend: 'b', server: 'x' } });
    assert.equal(isolate.kind === 'isolate' && isolate.haproxy?.state, 'maint');
    assert.equal(isolate.kind === 'isolate' && isolate.haproxy?.verify, true);
    const restore = Action.parse({ kind: 'restore', haproxy: { socket: '/s', backend: 'b', server: 'x' } });
    assert.equal(restore.kind === 'restore' && restore.haproxy?.state, 'ready');
    assert.equal(Action.safeParse({ kind: 'restore', haproxy: { socket: '/s', backend: 'b', server: 'x', state: 'maint' } }).success, false);
  });

  test('rejects a confirm quorum larger than its sample count', () => {
    const result = Action.safeParse({ kind: 'confirm', target: { tcp: { host: 'h', port: 1 } }, samples: 2, quorum: 3 });
    assert.match(messages(result)[0] ?? '', /quorum 3 is more than samples 2/);
  });

  test('rejects a step timeout shorter than its confirm window', () => {
    const result = Step.safeParse({
      id: 'confirm',
      timeout: '5s',
      action: { kind: 'confirm', target: { tcp: { host: 'h', port: 1 } }, samples: 5, interval: '2s', timeout: '1s' },
    });
    assert.equal(result.success, false);
    assert.deepEqual(result.error?.issues[0]?.path, ['timeout']);
  });

  test('allows isolation: provides only on an isolate step', () => {
    const result = Step.safeParse({ id: 'w', action: { kind: 'wait', duration: '1s' }, isolation: 'provides' });
    assert.match(messages(result)[0] ?? '', /only allowed on an isolate step/);
  });

  test('reads durations in ms, s, m and h', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    for (const bad of ['5', '1.5s', '0s', '5 s', '1d', '', '-1s']) {
      assert.throws(() => parseDuration(bad), RangeError, bad);
      assert.equal(Duration.safeParse(bad).success, false, bad);
    }
    assert.match(messages(Duration.safeParse(30))[0] ?? '', /a bare number has no unit/);
  });

  test('accepts nested conditions and rejects an object with two operators', () => {
    const ok = Condition.safeParse({
      all: [{ equals: ['fault.severity', 'critical'] }, { not: { exists: 'steps.confirm.output.skipped' } }],
    });
    assert.equal(ok.success, true, JSON.stringify(ok.error?.issues));
    const two = Condition.safeParse({ equals: ['fault.kind', 'a'], exists: 'fault.kind' });
    assert.match(messages(two)[0] ?? '', /takes only one of/);
    assert.equal(Condition.safeParse({ exists: 'fault severity' }).success, false);
  });
});

describe('approval defaults', () => {
  const haproxy = { socket: '/s', backend: 'b', server: 'x' };

  test('an isolate step without an approval block waits for the default group', () => {
    const step = Step.parse({ id: 'isolate', action: { kind: 'isolate', haproxy } });
    assert.deepEqual(step.approval, {
      approvers: [...DEFAULT_APPROVERS],
      min_approvals: 1,
      timeout: '30m',
      on_timeout: 'escalate',
    });
    assert.deepEqual(DEFAULT_APPROVERS, ['oncall']);
  });

  test('approval: false opts a risky step out', () => {
    const step = Step.parse({ id: 'isolate', action: { kind: 'isolate', haproxy }, approval: false });
    assert.equal(step.approval, false);
  });

  test('failback, promotion and restarting or stopping a primary are risky; a plain restore is not', () => {
    const risky = [
      { kind: 'restore', haproxy, failback: true },
      { kind: 'start_service', supervisor: { service: 's' }, promote: true },
      { kind: 'restart_service', supervisor: { service: 's' }, role: 'primary' },
      { kind: 'stop_service', systemd: { unit: 'u' }, role: 'primary' },
    ];
    for (const action of risky) assert.equal(requiresApproval({ action: Action.parse(action) }), true, action.kind);
    const plain = [
      { kind: 'restore', haproxy },
      { kind: 'start_service', supervisor: { service: 's' } },
      { kind: 'restart_service', supervisor: { service: 's' } },
      { kind: 'wait', duration: '1s' },
    ];
    for (const action of plain) assert.equal(requiresApproval({ action: Action.parse(action) }), false, action.kind);
  });

  test('approval: true or a partial block on any step fills in the defaults', () => {
    const wait = { kind: 'wait', duration: '1s' };
    assert.equal(Step.parse({ id: 'a', action: wait, approval: true }).approval !== false, true);
    const step = Step.parse({ id: 'a', action: wait, approval: { approvers: ['dba'], on_timeout: 'reject' } });
    assert.deepEqual(step.approval, { approvers: ['dba'], min_approvals: 1, timeout: '30m', on_timeout: 'reject' });
  });
});
