import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CommandFailedError, InvalidSpecError, VerificationFailedError } from '../../../activities/adapters/errors';
import { systemctlAction } from '../../../activities/adapters/systemd';
import { installSystemctlStandIn, type SystemctlStandIn } from '../../helpers/systemctl-stand-in';

describe('systemd adapter against a stand-in systemctl', () => {
  let dir: string;
  let systemctlPath: string;
  let systemctl: SystemctlStandIn;
  const calls = (): Promise<string[]> => systemctl.calls();

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'systemd-adapter-'));
    systemctl = await installSystemctlStandIn(dir);
    systemctlPath = systemctl.path;
  });
  beforeEach(async () => {
    await systemctl.clearCalls();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('start runs systemctl start then confirms with is-active', async () => {
    const result = await systemctlAction({ unit: 'app.service', action: 'start', dryRun: false, systemctlPath });
    assert.deepEqual(result, { dryRun: false, previous: 'inactive', current: 'active', changed: true, verified: true });
    assert.deepEqual(await calls(), ['[is-active][app.service]', '[start][app.service]', '[is-active][app.service]']);
  });

  test('starting an active unit only checks it', async () => {
    const result = await systemctlAction({ unit: 'app.service', action: 'start', dryRun: false, systemctlPath });
    assert.equal(result.dryRun === false && result.changed, false);
    assert.deepEqual(await calls(), ['[is-active][app.service]']);
  });

  test('restart always acts and stop brings the unit down', async () => {
    const restarted = await systemctlAction({ unit: 'app.service', action: 'restart', dryRun: false, systemctlPath });
    assert.equal(restarted.dryRun === false && restarted.changed, true);
    const stopped = await systemctlAction({ unit: 'app.service', action: 'stop', dryRun: false, systemctlPath });
    assert.deepEqual(stopped, { dryRun: false, previous: 'active', current: 'inactive', changed: true, verified: true });
    assert.ok((await calls()).includes('[restart][app.service]'));
    assert.ok((await calls()).includes('[stop][app.service]'));
  });

  test('a dry-run reads the state but runs no action', async () => {
    const result = await systemctlAction({ unit: 'app.service', action: 'start', dryRun: true, systemctlPath });
    assert.equal(result.dryRun, true);
    assert.match(result.dryRun ? result.plan : '', /would run systemctl start app.service \(now inactive\)/);
    assert.deepEqual(await calls(), ['[is-active][app.service]']);
  });

  test('a failing action is CommandFailed and a unit that fails after starting is VerificationFailed', async () => {
    await assert.rejects(
      systemctlAction({ unit: 'broken.service', action: 'start', dryRun: false, systemctlPath }),
      (err: unknown) => err instanceof CommandFailedError && err.exitCode === 1 && /Job for broken/.test(err.message),
    );
    await assert.rejects(
      systemctlAction({ unit: 'crashy.service', action: 'start', dryRun: false, systemctlPath }),
      VerificationFailedError,
    );
  });

  test('unit names that look like options or carry odd characters are refused without running systemctl', async () => {
    for (const unit of ['--all', '-x.service', 'app service', 'app;rm', '']) {
      await assert.rejects(systemctlAction({ unit, action: 'stop', dryRun: false, systemctlPath }), InvalidSpecError);
    }
    assert.deepEqual(await calls(), []);
  });
});
