import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { action, harness, rejectsWith, request, resolved, testDeps } from '../fixtures/activities/harness';
import type { Harness } from '../fixtures/activities/harness';
import { installSystemctlStandIn, type SystemctlStandIn } from '../helpers/systemctl-stand-in';

describe('service actions through systemd (stand-in systemctl)', () => {
  let dir: string;
  let h: Harness;
  const unit = (kind: 'start_service' | 'stop_service' | 'restart_service', name = 'app.service') => action({ kind, systemd: { unit: name } });
  let systemctl: SystemctlStandIn;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-systemd-'));
    systemctl = await installSystemctlStandIn(dir);
    h = harness(testDeps({ systemctlPath: systemctl.path }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry-run start reads the unit state and plans the start', async () => {
    const result = await h.runAction(request(unit('start_service'), { dryRun: true }));
    assert.deepEqual(result.output, { dry_run: true, unit: 'app.service', previous: 'inactive' });
    assert.match(result.plan ?? '', /would run systemctl start app\.service/);
    assert.deepEqual(await systemctl.calls(), ['[is-active][app.service]']);
  });

  test('start brings the unit to active and reports it running', async () => {
    const result = await h.runAction(request(unit('start_service')));
    assert.deepEqual(result.output, {
      unit: 'app.service',
      previous: 'inactive',
      current: 'active',
      running: true,
      healthy: true,
      changed: true,
      verified: true,
    });
  });

  test('stop brings it to inactive; stopping again changes nothing', async () => {
    const first = await h.runAction(request(unit('stop_service')));
    assert.equal(first.output.current, 'inactive');
    assert.equal(first.output.running, false);
    const second = await h.runAction(request(unit('stop_service')));
    assert.equal(second.output.changed, false);
  });

  test('a unit that fails to start is a retryable CommandFailed', async () => {
    await rejectsWith(h.runAction(request(unit('restart_service', 'broken.service'))), 'CommandFailed', false);
  });

  test('a unit name that could be read as an option is a non-retryable InvalidSpec', async () => {
    await rejectsWith(h.runAction(request(resolved(unit('start_service', '{{ params.unit }}'), ['systemd', 'unit'], '--all'))), 'InvalidSpec', true);
  });
});
