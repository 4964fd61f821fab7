import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadRunbookText, type LoadedRunbook, type RunbookError } from '../../engine/load-runbook';
import { desiredSchedules, planSchedules, type ExistingSchedule } from '../../engine/schedule-plan';
import { scheduleOptions } from '../../intake/schedules';
import { launcherIdFor, scheduledIncidentId, scheduleIdFor } from '../../schemas/scheduled-run';

function runbookText(schedule: string, name = 'nightly-check'): string {
  return `name: ${name}
version: 1
match:
  kinds: [scheduled]
${schedule}
steps:
  - id: note
    action:
      kind: wait
      duration: 1s
`;
}

function loaded(schedule: string, name?: string): LoadedRunbook {
  const result = loadRunbookText(runbookText(schedule, name), 'nightly.yaml');
  assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return result;
}

function errors(schedule: string): RunbookError[] {
  const result = loadRunbookText(runbookText(schedule), 'nightly.yaml');
  assert.equal(result.ok, false, 'expected the runbook to be rejected');
  return result.ok ? [] : result.errors;
}

const HOURLY = `schedule:
  every: 1h
  targets:
    - { service: app, target: primary }
    - { service: app, target: standby }`;

describe('the schedule block', () => {
  test('fills in the defaults: skip overlaps, a ten-minute catch-up window, skip while an incident is open', () => {
    const { runbook } = loaded(HOURLY);
    assert.deepEqual(runbook.schedule, {
      every: '1h',
      targets: [{ service: 'app', target: 'primary' }, { service: 'app', target: 'standby' }],
      overlap: 'skip',
      catchup_window: '10m',
      pause_on_failure: false,
      if_incident_open: 'skip',
    });
  });

  test('a runbook without one has none, so its content hash is what it was', () => {
    const result = loadRunbookText(runbookText(''), 'plain.yaml');
    assert.ok(result.ok);
    assert.equal('schedule' in result.runbook, false);
  });

  test('needs exactly one of every and cron, named in the error with its line', () => {
    const [none] = errors('schedule:\n  targets: [{ service: app, target: primary }]');
    assert.equal(none?.path, 'schedule');
    assert.match(none?.message ?? '', /needs one of: every, cron/);
    const [both] = errors('schedule:\n  every: 1h\n  cron: "0 * * * *"\n  targets: [{ service: app, target: primary }]');
    assert.equal(both?.path, 'schedule.cron');
    assert.equal(both?.line, 7);
  });

  test('refuses a cron expression that is not five plain cron fields', () => {
    const [cron] = errors('schedule:\n  cron: "0 * * *"\n  targets: [{ service: app, target: primary }]');
    assert.equal(cron?.path, 'schedule.cron');
    assert.match(cron?.message ?? '', /five cron fields/);
    const [field] = errors('schedule:\n  cron: "0 * * * $(reboot)"\n  targets: [{ service: app, target: primary }]');
    assert.match(field?.message ?? '', /characters cron does not use/);
  });

  test('accepts cron macros and a time zone for cron only', () => {
    assert.equal(loaded('schedule:\n  cron: "@daily"\n  timezone: Europe/Berlin\n  targets: [{ service: app, target: primary }]').runbook.schedule?.timezone, 'Europe/Berlin');
    const [tz] = errors('schedule:\n  every: 1h\n  timezone: UTC\n  targets: [{ service: app, target: primary }]');
    assert.equal(tz?.path, 'schedule.timezone');
  });

  test('names the field of each bad value', () => {
    const paths = (s: string): string[] => errors(s).map((e) => e.path);
    assert.deepEqual(paths('schedule:\n  every: 500ms\n  targets: [{ service: app, target: primary }]'), ['schedule.every']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  catchup_window: 5s\n  targets: [{ service: app, target: primary }]'), ['schedule.catchup_window']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  overlap: sometimes\n  targets: [{ service: app, target: primary }]'), ['schedule.overlap']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  targets: []'), ['schedule.targets']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  targets: [{ service: "../etc", target: primary }]'), ['schedule.targets[0].service']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  targets: [{ service: app, target: a }, { service: app, target: a }]'), ['schedule.targets[1]']);
    assert.deepEqual(paths('schedule:\n  every: 1h\n  targets: [{ service: app, target: a }]\n  evry: 2h'), ['schedule.evry']);
  });
});

describe('scheduled run ids', () => {
  test('the incident of a run extends the target\'s incident id with the runbook and the run\'s time, without colons', () => {
    const input = { scheduleId: scheduleIdFor('backup', 'app', 'primary'), service: 'app', target: 'primary', runbook: { name: 'backup' } } as const;
    assert.equal(input.scheduleId, 'backup/app/primary');
    const launcher = `${launcherIdFor(input.scheduleId)}-2026-05-01T12:00:00Z`;
    assert.equal(scheduledIncidentId(input as never, launcher, 'run-1'), 'incident/app/primary/backup-20260501T120000Z');
  });

  test('a launcher started by hand (not by its schedule) is named by its run id', () => {
    const input = { scheduleId: 'backup/app/primary', service: 'app', target: 'primary', runbook: { name: 'backup' } };
    assert.equal(scheduledIncidentId(input as never, 'something-else', 'abc-123'), 'incident/app/primary/backup-abc-123');
  });
});

describe('reconciling schedules with the runbook files', () => {
  const options = { dryRun: false, taskQueue: 'runbooks' };

  test('a runbook declares one schedule per target, each starting the launcher with its snapshot', () => {
    const desired = desiredSchedules([loaded(HOURLY)], options);
    assert.deepEqual(desired.map((d) => d.scheduleId), ['nightly-check/app/primary', 'nightly-check/app/standby']);
    const first = desired[0];
    assert.ok(first);
    assert.equal(first.input.runbook.definition.name, 'nightly-check');
    const opts = scheduleOptions(first, 'runbooks');
    assert.deepEqual(opts.spec, { intervals: [{ every: 3_600_000 }] });
    assert.deepEqual(opts.policies, { overlap: 'SKIP', catchupWindow: 600_000, pauseOnFailure: false });
    assert.equal(opts.action.workflowType, 'scheduledRun');
    assert.equal(opts.action.workflowId, 'schedule/nightly-check/app/primary');
    assert.equal(opts.memo?.managedBy, 'runbook-files');
  });

  test('cron, time zone and jitter reach the Temporal spec', () => {
    const [d] = desiredSchedules([loaded('schedule:\n  cron: "15 3 * * *"\n  timezone: UTC\n  jitter: 30s\n  overlap: buffer_one\n  targets: [{ service: app, target: primary }]')], options);
    assert.ok(d);
    const opts = scheduleOptions(d, 'runbooks');
    assert.deepEqual(opts.spec, { cronExpressions: ['15 3 * * *'], timezone: 'UTC', jitter: 30_000 });
    assert.equal(opts.policies?.overlap, 'BUFFER_ONE');
  });

  test('the fingerprint is stable for the same file and changes with the runbook, the task queue or dry-run mode', () => {
    const fp = (s: string, o = options): string | undefined => desiredSchedules([loaded(s)], o)[0]?.input.fingerprint;
    assert.equal(fp(HOURLY), fp(HOURLY));
    assert.notEqual(fp(HOURLY), fp(HOURLY.replace('every: 1h', 'every: 2h')));
    assert.notEqual(fp(HOURLY), fp(HOURLY, { ...options, taskQueue: 'other' }));
    assert.notEqual(fp(HOURLY), fp(HOURLY, { ...options, dryRun: true }));
  });

  test('creates what is missing, updates what changed, keeps what is current and deletes managed orphans only', () => {
    const desired = desiredSchedules([loaded(HOURLY)], options);
    const [primary, standby] = desired;
    assert.ok(primary && standby);
    const existing: ExistingSchedule[] = [
      { scheduleId: primary.scheduleId, managed: true, fingerprint: primary.input.fingerprint },
      { scheduleId: standby.scheduleId, managed: true, fingerprint: 'old' },
      { scheduleId: 'removed-runbook/app/primary', managed: true, fingerprint: 'x' },
      { scheduleId: 'made-by-hand', managed: false },
    ];
    const plan = planSchedules(desired, existing);
    assert.deepEqual(plan.create, []);
    assert.deepEqual(plan.update.map((d) => d.scheduleId), [standby.scheduleId]);
    assert.deepEqual(plan.unchanged, [primary.scheduleId]);
    assert.deepEqual(plan.remove, ['removed-runbook/app/primary']);
    assert.deepEqual(plan.conflicts, []);
  });

  test('a second start-up with nothing changed plans nothing', () => {
    const desired = desiredSchedules([loaded(HOURLY)], options);
    const first = planSchedules(desired, []);
    assert.equal(first.create.length, 2);
    const afterFirst = desired.map((d) => ({ scheduleId: d.scheduleId, managed: true, fingerprint: d.input.fingerprint }));
    const second = planSchedules(desired, afterFirst);
    assert.deepEqual([second.create, second.update, second.remove], [[], [], []]);
  });

  test('a schedule made by hand under a declared id is left alone and reported', () => {
    const desired = desiredSchedules([loaded(HOURLY)], options);
    const plan = planSchedules(desired, [{ scheduleId: 'nightly-check/app/primary', managed: false }]);
    assert.deepEqual(plan.create.map((d) => d.scheduleId), ['nightly-check/app/standby']);
    assert.deepEqual(plan.conflicts.map((c) => c.scheduleId), ['nightly-check/app/primary']);
    assert.match(plan.conflicts[0]?.reason ?? '', /not made from a runbook file/);
  });
});
