import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { action, harness, rejectsWith, request, resolved } from '../fixtures/activities/harness';

describe('sync_data with real rsync directories', () => {
  let dir: string;
  let src: string;
  let dst: string;
  const h = harness();
  const sync = (extra: Record<string, unknown> = {}) =>
    action({ kind: 'sync_data', rsync: { source: `${src}/`, destination: `${dst}/`, delete: true, ...extra } });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-sync-'));
    src = path.join(dir, 'primary');
    dst = path.join(dir, 'standby');
    await mkdir(path.join(src, 'db'), { recursive: true });
    await mkdir(dst, { recursive: true });
    await writeFile(path.join(src, 'db', 'data.bin'), Buffer.alloc(200_000, 7));
    await writeFile(path.join(src, 'meta.json'), '{"v":1}');
    await writeFile(path.join(dst, 'stale.txt'), 'left over');
    await writeFile(path.join(dst, 'meta.json'), '{"v":0}');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry run counts what would change and leaves the standby untouched', async () => {
    const result = await h.runAction(request(sync(), { dryRun: true }));
    assert.equal(result.output.dry_run, true);
    assert.equal(result.output.files_transferred, 2);
    assert.equal(result.output.deleted_files, 1);
    assert.match(result.plan ?? '', /stale\.txt/);
    assert.equal(await readFile(path.join(dst, 'stale.txt'), 'utf8'), 'left over');
  });

  test('a sync copies changed files, deletes extra ones, verifies and reports the counts', async () => {
    const before = h.heartbeats.length;
    const result = await h.runAction(request(sync()));
    assert.equal(result.dryRun, false);
    assert.equal(result.output.files_transferred, 2);
    assert.equal(result.output.bytes_transferred, 200_000 + '{"v":1}'.length);
    assert.equal(result.output.deleted_files, 1);
    assert.equal(result.output.verified, true);
    assert.deepEqual((await readdir(dst)).sort(), ['db', 'meta.json']);
    assert.equal(await readFile(path.join(dst, 'meta.json'), 'utf8'), '{"v":1}');
    assert.ok(h.heartbeats.length > before, 'progress heartbeats');
  });

  test('syncing again transfers nothing', async () => {
    const result = await h.runAction(request(sync()));
    assert.equal(result.output.files_transferred, 0);
    assert.equal(result.output.verified, true);
  });

  test('a relative path is a non-retryable InvalidSpec', async () => {
    await rejectsWith(
      h.runAction(request(resolved(action({ kind: 'sync_data', rsync: { source: '{{ params.src }}', destination: `${dst}/` } }), ['rsync', 'source'], 'primary/'))),
      'InvalidSpec',
      true,
    );
  });

  test('a sync by command runs the program with the isolation epoch in its environment', async () => {
    const out = path.join(dir, 'epoch.txt');
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, process.env.RUNBOOK_ISOLATION_EPOCH + ' ' + process.env.RUNBOOK_STEP_ID)`;
    const cmd = action({ kind: 'sync_data', command: { argv: [process.execPath, '-e', script] } });
    const result = await h.runAction(request(cmd, { epoch: 7, stepId: 'copy', allowedExecutables: [process.execPath] }));
    assert.equal(result.output.exit_code, 0);
    assert.equal(await readFile(out, 'utf8'), '7 copy');
  });
});
