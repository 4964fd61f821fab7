import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidSpecError } from '../../../activities/adapters/errors';
import { syncData, verifySync } from '../../../activities/adapters/rsync';
import type { SyncProgress } from '../../../activities/adapters/rsync';

async function writeTree(root: string, files: Record<string, number>): Promise<number> {
  let total = 0;
  for (const [name, size] of Object.entries(files)) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, randomBytes(size));
    total += size;
  }
  return total;
}

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe('rsync adapter with the real rsync', () => {
  let dir: string;
  let src: string;
  let dst: string;
  const files = { 'a.bin': 1500, 'sub/b.bin': 20_000, 'sub/deeper/c.bin': 3, 'skip.tmp': 700 };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rsync-adapter-'));
    src = path.join(dir, 'src');
    dst = path.join(dir, 'dst');
    await writeTree(src, files);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry-run reports what would move and creates nothing', async () => {
    const result = await syncData({ source: `${src}/`, destination: `${dst}/`, dryRun: true, timeoutMs: 20_000 });
    assert.equal(result.dryRun, true);
    assert.equal(result.filesTransferred, 4);
    assert.equal(result.bytesTransferred, 1500 + 20_000 + 3 + 700);
    assert.match(result.dryRun ? result.plan : '', /would sync .* 4 file\(s\)/);
    await assert.rejects(stat(dst), { code: 'ENOENT' });
  });

  test('copies the tree, reports counts and bytes, and verifies the copy', async () => {
    const progress: SyncProgress[] = [];
    const result = await syncData({
      source: `${src}/`,
      destination: `${dst}/`,
      exclude: ['*.tmp'],
      dryRun: false,
      timeoutMs: 20_000,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(result.dryRun, false);
    assert.equal(result.filesTransferred, 3);
    assert.equal(result.bytesTransferred, 1500 + 20_000 + 3);
    assert.equal(result.verified, true);
    assert.ok(result.totalFiles >= 3);
    assert.deepEqual(await listTree(dst), ['a.bin', 'sub/b.bin', 'sub/deeper/c.bin']);
    assert.deepEqual(await readFile(path.join(dst, 'sub/b.bin')), await readFile(path.join(src, 'sub/b.bin')));
    assert.ok(progress.length > 0, 'onProgress was called');
    assert.ok(progress.every((p) => p.phase === 'transfer' || p.phase === 'verify'));
  });

  test('a second run transfers nothing', async () => {
    const again = await syncData({ source: `${src}/`, destination: `${dst}/`, exclude: ['*.tmp'], dryRun: false, timeoutMs: 20_000 });
    assert.equal(again.filesTransferred, 0);
    assert.equal(again.bytesTransferred, 0);
  });

  test('the verify pass finds nothing left after a sync and finds a changed file', async () => {
    const clean = await verifySync({ source: `${src}/`, destination: `${dst}/`, exclude: ['*.tmp'], timeoutMs: 20_000 });
    assert.deepEqual(clean, { verified: true, differenceCount: 0, differences: [] });

    // Same size and mtime, different bytes: only --checksum can see it.
    const target = path.join(dst, 'sub/deeper/c.bin');
    const before = await stat(target);
    await writeFile(target, Buffer.from('zzz'));
    await utimes(target, before.atime, before.mtime);
    const dirty = await verifySync({ source: `${src}/`, destination: `${dst}/`, exclude: ['*.tmp'], timeoutMs: 20_000 });
    assert.equal(dirty.verified, false);
    assert.equal(dirty.differenceCount, 1);
    assert.match(dirty.differences[0] ?? '', /sub\/deeper\/c\.bin/);

    const dry = await syncData({ source: `${src}/`, destination: `${dst}/`, exclude: ['*.tmp'], dryRun: true, timeoutMs: 20_000 });
    assert.equal(dry.filesTransferred, 1);
    assert.equal(dry.bytesTransferred, 3);
    assert.deepEqual(await readFile(target), Buffer.from('zzz'), 'dry-run left the file alone');

    const fixed = await syncData({ source: `${src}/`, destination: `${dst}/`, exclude: ['*.tmp'], dryRun: false, timeoutMs: 20_000 });
    assert.equal(fixed.filesTransferred, 1);
    assert.deepEqual(await readFile(target), await readFile(path.join(src, 'sub/deeper/c.bin')));
  });

  test('delete removes destination files missing from the source', async () => {
    await writeFile(path.join(dst, 'stale.bin'), 'old');
    const result = await syncData({
      source: `${src}/`,
      destination: `${dst}/`,
      exclude: ['*.tmp'],
      delete: true,
      dryRun: false,
      timeoutMs: 20_000,
    });
    assert.equal(result.deletedFiles, 1);
    assert.deepEqual(await listTree(dst), ['a.bin', 'sub/b.bin', 'sub/deeper/c.bin']);
  });

  test('relative paths, option-like paths and identical paths are refused', async () => {
    const bad = [
      { source: 'src/', destination: `${dst}/` },
      { source: '-e/x', destination: `${dst}/` },
      { source: `${src}/`, destination: '--delete' },
      { source: `${src}/`, destination: `${src}/` },
    ];
    for (const paths of bad) {
      await assert.rejects(syncData({ ...paths, dryRun: false, timeoutMs: 5000 }), InvalidSpecError);
    }
  });
});
