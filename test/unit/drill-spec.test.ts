import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadRunbookText, type LoadResult } from '../../engine/load-runbook';
import { desiredSchedules } from '../../engine/schedule-plan';
import { groupsReferenced } from '../../stack/local-roster';
import { drillScheduleIdFor } from '../../schemas/scheduled-run';

function runbook(blocks: string): LoadResult {
  return loadRunbookText(
    `name: rehearsed
version: 1
match:
  kinds: [node_down]
${blocks}
steps:
  - id: note
    action: { kind: wait, duration: 1s }
`,
    'rehearsed.yaml',
  );
}

const DRILL = `drill:
  fault:
    kind: kill_process
    supervisor: { service: app-primary }
  canary:
    write: { url: "http://127.0.0.1:8080/canary" }
    read: { url: "http://127.0.0.1:8080/canary" }`;

function problems(result: LoadResult): string[] {
  assert.equal(result.ok, false, 'expected the runbook to be rejected');
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe('the objectives and drill blocks', () => {
  test('a drill gets its defaults filled in: the drills group, bounded waits, a SIGKILL, a one-second canary', () => {
    const result = runbook(DRILL);
    assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => e.message).join('; '));
    const drill = result.runbook.drill;
    assert.deepEqual(drill?.approvers, ['drills']);
    assert.equal(drill?.approval_timeout, '30m');
    assert.equal(drill?.detect_timeout, '2m');
    assert.equal(drill?.heal_timeout, '15m');
    assert.deepEqual(drill?.fault, { kind: 'kill_process', supervisor: { service: 'app-primary' }, signal: 'SIGKILL' });
    assert.equal(drill?.canary?.interval, '1s');
    assert.deepEqual(drill?.restore, []);
  });

  test('a drill injects only a fault kind, naming the field', () => {
    const errs = problems(runbook(`drill:\n  fault: { kind: wait, duration: 1s }`));
    assert.ok(errs.some((e) => e.includes('drill.fault.kind') && e.includes('kill_process, stop_service, block_port, delete_data')), errs.join('\n'));
  });

  test('restore step ids are unique and objectives name at least one measure', () => {
    const dup = problems(runbook(`${DRILL}\n  restore:\n    - { id: up, action: { kind: wait, duration: 1s } }\n    - { id: up, action: { kind: wait, duration: 1s } }`));
    assert.ok(dup.some((e) => e.includes('drill.restore[1].id') && e.includes('duplicate')), dup.join('\n'));
    const empty = problems(runbook('objectives: {}'));
    assert.ok(empty.some((e) => e.startsWith('objectives') && e.includes('at least one')), empty.join('\n'));
    const unit = problems(runbook('objectives: { rto: 30 }'));
    assert.ok(unit.some((e) => e.includes('objectives.rto')), unit.join('\n'));
  });

  test('a drill URL must be http or https, and a canary needs both ends', () => {
    const errs = problems(runbook(`${DRILL.replace('http://127.0.0.1:8080/canary" }\n    read', 'ftp://x/canary" }\n    read')}`));
    assert.ok(errs.some((e) => e.includes('drill.canary.write.url')), errs.join('\n'));
    const half = problems(runbook(`drill:\n  fault: { kind: delete_data, path: /srv/data }\n  canary:\n    write: { url: "http://127.0.0.1:1/c" }`));
    assert.ok(half.some((e) => e.includes('drill.canary.read')), half.join('\n'));
  });

  test('fault-injection actions in an incident runbook need approval by default', () => {
    const result = loadRunbookText(
      `name: breaker\nversion: 1\nmatch: { kinds: [x] }\nsteps:\n  - id: kill\n    action: { kind: kill_process, supervisor: { service: app } }\n  - id: unblock\n    action: { kind: unblock_port, port: 8080 }\n`,
      'breaker.yaml',
    );
    assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => e.message).join('; '));
    assert.notEqual(result.runbook.steps[0]?.approval, false, 'killing a process is risky');
    assert.equal(result.runbook.steps[1]?.approval, false, 'opening a port again is not');
  });

  test('a drill schedule becomes one Temporal Schedule per target that starts drills, apart from the runbook schedule', () => {
    const result = runbook(`schedule:\n  every: 1h\n  targets: [{ service: app, target: primary }]\n${DRILL}\n  schedule:\n    cron: "0 3 1 * *"\n    targets: [{ service: app, target: primary }, { service: app, target: standby }]`);
    assert.ok(result.ok, result.ok ? '' : result.errors.map((e) => e.message).join('; '));
    const desired = desiredSchedules([result], { dryRun: false, taskQueue: 'q' });
    assert.deepEqual(desired.map((d) => [d.scheduleId, d.input.drill === true]), [
      ['rehearsed/app/primary', false],
      [drillScheduleIdFor('rehearsed', 'app', 'primary'), true],
      [drillScheduleIdFor('rehearsed', 'app', 'standby'), true],
    ]);
    assert.equal(drillScheduleIdFor('rehearsed', 'app', 'primary'), 'rehearsed/app/primary/drill');
    assert.equal(new Set(desired.map((d) => d.input.fingerprint)).size, 3, 'each schedule has its own fingerprint');
  });

  test('the local roster always has the default drills group, so runbook demo drill can be approved on a fresh stack', () => {
    assert.ok(groupsReferenced([]).includes('drills'));
  });

  test('the local roster has a drills group when a runbook names it', () => {
    const result = runbook(`${DRILL}\n  approvers: [dr-team]`);
    assert.ok(result.ok);
    assert.ok(groupsReferenced([result.runbook]).includes('dr-team'));
  });
});
