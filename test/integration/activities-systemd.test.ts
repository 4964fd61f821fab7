import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { action, harness, rejectsWith, request, resolved, testDeps } from '../fixtures/activities/harness';
import type { Harness } from '../fixtures/activities/harness';

// There is no systemd on the test machines, so a stand-in `systemctl` logs
// each call and keeps each unit's state in a file beside it.
const FAKE_SYSTEMCTL = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/calls.log"
state_file="$dir/state-$2"
case "$1" in
  start|restart)
    if [ "$2" = "broken.service" ]; then echo "Job for broken.service failed." >&2; exit 1; fi
    echo active > "$state_file" ;;
  stop) echo inactive > "$state_file" ;;
  is-active)
    state=$(cat "$state_file" 2>/dev/null || echo inactive)
    echo "$state"
    [ "$state" = active ] && exit 0
    exit 3 ;;
esac
`;

describe('service actions through systemd (stand-in systemctl)', () => {
  let dir: string;
  let h: Harness;
  const unit = (kind: 'start_service' | 'stop_service' | 'restart_service', name = 'app.service') => action({ kind, systemd: { unit: name } });
  const calls = async (): Promise<string[]> => (await readFile(path.join(dir, 'calls.log'), 'utf8')).trim().split('\n');

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-systemd-'));
    await writeFile(path.join(dir, 'systemctl'), FAKE_SYSTEMCTL);
    await chmod(path.join(dir, 'systemctl'), 0o755);
    h = harness(testDeps({ systemctlPath: path.join(dir, 'systemctl') }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry-run start reads the unit state and plans the start', async () => {
    const result = await h.runAction(request(unit('start_service'), { dryRun: true }));
    assert.deepEqual(result.output, { dry_run: true, unit: 'app.service', previous: 'inactive' });
    assert.match(result.plan ?? '', /would run systemctl start app\.service/);
    assert.deepEqual(await calls(), ['is-active app.service']);
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
