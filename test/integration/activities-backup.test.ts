import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { listSnapshots, verifySnapshot } from '../../activities/adapters/snapshots';
import { action, harness, rejectsWith, request } from '../fixtures/activities/harness';

describe('backup and restore_data with real rsync directories', () => {
  let dir: string;
  let src: string;
  let repo: string;
  const h = harness();
  let step = 0;
  const backup = (retention: Record<string, unknown> = { keep_last: 2 }) =>
    h.runAction(request(action({ kind: 'backup', source: `${src}/`, repository: repo, retention }), { stepId: `backup-${(step += 1)}` }));

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-backup-'));
    src = path.join(dir, 'primary');
    repo = path.join(dir, 'backups');
    await mkdir(path.join(src, 'db'), { recursive: true });
    await writeFile(path.join(src, 'db', 'data.bin'), Buffer.alloc(100_000, 7));
    await writeFile(path.join(src, 'model.json'), '{"v":1}');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the first backup is a full, verified copy with a manifest', async () => {
    const r = await backup();
    assert.equal(r.output.link_dest, null);
    assert.equal(r.output.files, 2);
    assert.equal(r.output.new_bytes, 100_007);
    assert.equal(r.output.verified, true);
    const [snap] = await listSnapshots(repo);
    assert.equal(snap?.id, r.output.snapshot);
    assert.equal(snap?.verification?.ok, true);
    assert.equal(snap?.manifest.entries['model.json']?.type, 'file');
  });

  test('the next backup hard-links unchanged files to the previous one and stores only the change', async () => {
    await writeFile(path.join(src, 'model.json'), '{"v":2}');
    const r = await backup();
    const [first, second] = await listSnapshots(repo);
    assert.equal(r.output.link_dest, first?.id);
    assert.equal(r.output.new_bytes, '{"v":2}'.length);
    const a = await stat(path.join(first?.dataDir ?? '', 'db', 'data.bin'));
    const b = await stat(path.join(second?.dataDir ?? '', 'db', 'data.bin'));
    assert.equal(a.ino, b.ino, 'unchanged file is the same inode');
    assert.equal(await readFile(path.join(second?.dataDir ?? '', 'model.json'), 'utf8'), '{"v":2}');
    assert.equal(await readFile(path.join(first?.dataDir ?? '', 'model.json'), 'utf8'), '{"v":1}');
  });

  test('a retried backup finds the snapshot it took instead of taking another', async () => {
    const req = request(action({ kind: 'backup', source: `${src}/`, repository: repo, retention: { keep_last: 5 } }), { stepId: 'retried' });
    const first = await h.runAction(req);
    const again = await h.runAction(req);
    assert.equal(again.output.snapshot, first.output.snapshot);
    assert.match(again.summary, /^found snapshot/);
  });

  test('retention removes the oldest snapshot once there are more than it keeps', async () => {
    const before = (await listSnapshots(repo)).map((s) => s.id);
    assert.equal(before.length, 3);
    await writeFile(path.join(src, 'model.json'), '{"v":3}');
    const r = await backup({ keep_last: 2 });
    const after = (await listSnapshots(repo)).map((s) => s.id);
    assert.deepEqual(r.output.removed, before.slice(0, 2));
    assert.deepEqual(after, [before[2], r.output.snapshot]);
    assert.deepEqual((await readdir(repo)).sort(), after);
  });

  test('restore_data restores the newest verified snapshot and reports its age', async () => {
    const target = path.join(dir, 'standby');
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, 'stale.txt'), 'left over');
    const r = await h.runAction(request(action({ kind: 'restore_data', repository: repo, destination: target })));
    const newest = (await listSnapshots(repo)).at(-1);
    assert.equal(r.output.snapshot, newest?.id);
    assert.equal(r.output.verified, true);
    assert.equal(typeof r.output.age_seconds, 'number');
    assert.deepEqual((await readdir(target)).sort(), ['db', 'model.json']);
    assert.equal(await readFile(path.join(target, 'model.json'), 'utf8'), '{"v":3}');
  });

  test('a named snapshot is restored; an unknown one is TargetNotFound', async () => {
    const [oldest] = await listSnapshots(repo);
    const target = path.join(dir, 'named');
    const r = await h.runAction(request(action({ kind: 'restore_data', repository: repo, destination: target, snapshot: oldest?.id })));
    assert.equal(r.output.snapshot, oldest?.id);
    assert.equal(await readFile(path.join(target, 'model.json'), 'utf8'), '{"v":2}');
    await rejectsWith(
      h.runAction(request(action({ kind: 'restore_data', repository: repo, destination: target, snapshot: '2001-01-01T00-00-00-000Z' }))),
      'TargetNotFound',
      true,
    );
  });

  test('a corrupted snapshot fails verification, and a restore skips it for the newest verified one', async () => {
    const snaps = await listSnapshots(repo);
    const newest = snaps.at(-1);
    assert.ok(newest);
    // Break the hard link first, so the corruption stays in this snapshot.
    await rm(path.join(newest.dataDir, 'model.json'));
    await writeFile(path.join(newest.dataDir, 'model.json'), '{"v":9}');
    const v = await verifySnapshot({ snapshot: newest, timeoutMs: 30_000 });
    assert.equal(v.ok, false);
    assert.deepEqual(v.differences, ['model.json: sha256 differs']);
    const target = path.join(dir, 'after-corruption');
    const r = await h.runAction(request(action({ kind: 'restore_data', repository: repo, destination: target })));
    assert.equal(r.output.snapshot, snaps.at(-2)?.id);
  });

  test('a dry run plans the backup and the restore and changes nothing', async () => {
    const before = await readdir(repo);
    const b = await h.runAction(request(action({ kind: 'backup', source: `${src}/`, repository: repo }), { dryRun: true, stepId: 'dry' }));
    assert.match(b.plan ?? '', /would snapshot .* hard-linked to/);
    const target = path.join(dir, 'dry-target');
    const r = await h.runAction(request(action({ kind: 'restore_data', repository: repo, destination: target }), { dryRun: true }));
    assert.match(r.plan ?? '', /would restore snapshot/);
    assert.deepEqual(await readdir(repo), before);
    await assert.rejects(stat(target));
  });

  test('a data probe tells present data from a deleted directory', async () => {
    const present = await h.runAction(request(action({ kind: 'probe', target: { data: { path: src } } })));
    assert.equal(present.output.ok, true);
    const gone = await h.runAction(request(action({ kind: 'probe', target: { data: { path: path.join(dir, 'nothing-here') } } })));
    assert.equal(gone.output.ok, false);
    assert.match(String(gone.output.detail), /ENOENT/);
  });
});
