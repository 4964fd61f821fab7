import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ageSeconds, planRetention, type RetainedSnapshot } from '../../engine/retention';
import { compareManifest, manifestTotals } from '../../activities/adapters/snapshot-manifest';
import { snapshotId, snapshotTime } from '../../activities/adapters/snapshots';
import { Action } from '../../schemas/runbook';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-03-10T12:30:00.000Z');

/** One snapshot every `everyMs`, newest at NOW, all verified unless listed. */
function series(count: number, everyMs: number, unverified: number[] = []): RetainedSnapshot[] {
  return Array.from({ length: count }, (_, i) => {
    const createdAt = NOW - i * everyMs;
    return { id: snapshotId(new Date(createdAt)), createdAt, verified: !unverified.includes(i) };
  });
}

describe('backup retention', () => {
  test('keep_last keeps the newest N and removes the oldest', () => {
    const snaps = series(4, 60_000);
    const plan = planRetention(snaps, { keep_last: 3 }, NOW);
    assert.deepEqual(plan.keep.map((k) => k.id), snaps.slice(0, 3).map((s) => s.id));
    assert.deepEqual(plan.remove, [snaps[3]?.id]);
  });

  test('24 hourly and 7 daily keep one snapshot per hour for a day and one per day for a week', () => {
    // Every 30 minutes for 10 days: 480 snapshots.
    const snaps = series(480, HOUR / 2);
    const plan = planRetention(snaps, { hourly: 24, daily: 7 }, NOW);
    const hourly = plan.keep.filter((k) => k.reasons.includes('hourly'));
    const daily = plan.keep.filter((k) => k.reasons.includes('daily'));
    assert.equal(hourly.length, 24);
    assert.equal(daily.length, 7);
    // Each bucket keeps its newest: the newest snapshot is both the hour's and the day's.
    assert.deepEqual(plan.keep[0]?.reasons, ['hourly', 'daily', 'newest verified']);
    assert.equal(new Set(hourly.map((k) => Math.floor(snapshotTime(k.id) / HOUR))).size, 24);
    // The 24 hours back from 12:30 reach into yesterday, whose newest (23:30) is hourly too: daily adds 5 older days.
    assert.equal(plan.keep.length, 24 + 5);
    assert.equal(plan.keep.length + plan.remove.length, 480);
  });

  test('max_age removes old snapshots the count rules would keep', () => {
    const snaps = series(5, HOUR);
    const plan = planRetention(snaps, { keep_last: 5, max_age: '150m' }, NOW);
    assert.deepEqual(plan.keep.map((k) => k.id), snaps.slice(0, 3).map((s) => s.id));
    assert.deepEqual(plan.remove, snaps.slice(3).map((s) => s.id));
  });

  test('the newest verified snapshot stays even when every rule would drop it', () => {
    // The two newest failed verification; the third is the last good one.
    const snaps = series(4, HOUR, [0, 1]);
    const plan = planRetention(snaps, { keep_last: 2 }, NOW);
    assert.deepEqual(plan.keep.map((k) => k.id), snaps.slice(0, 3).map((s) => s.id));
    assert.deepEqual(plan.keep[2]?.reasons, ['newest verified']);
    const old = planRetention(snaps, { keep_last: 1, max_age: '1m' }, NOW + 10 * HOUR);
    assert.deepEqual(old.keep.map((k) => k.id), [snaps[2]?.id]);
  });

  test('an age is whole seconds and never negative', () => {
    assert.equal(ageSeconds(NOW - 90_400, NOW), 90);
    assert.equal(ageSeconds(NOW + 5_000, NOW), 0);
  });

  test('a retention without a count rule is refused, naming the field', () => {
    const r = Action.safeParse({ kind: 'backup', source: '/data/', repository: '/backups/data', retention: { max_age: '24h' } });
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /retention needs at least one of keep_last, hourly, daily/);
    assert.deepEqual(r.error?.issues[0]?.path, ['retention']);
  });

  test('a repository inside the source is refused', () => {
    const r = Action.safeParse({ kind: 'backup', source: '/data', repository: '/data/backups' });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['repository']);
  });

  test('a backup without retention keeps 24 hourly and 7 daily', () => {
    const a = Action.parse({ kind: 'backup', source: '/data/', repository: '/backups/data' });
    assert.equal(a.kind, 'backup');
    assert.deepEqual(a.kind === 'backup' ? a.retention : undefined, { hourly: 24, daily: 7 });
  });
});

describe('snapshot ids and manifests', () => {
  test('a snapshot id is its UTC creation time and reads back to it', () => {
    const id = snapshotId(new Date(NOW + 7));
    assert.equal(id, '2026-03-10T12-30-00-007Z');
    assert.equal(snapshotTime(id), NOW + 7);
    assert.throws(() => snapshotTime('2026-03-10'), /not a snapshot id/);
  });

  test('a copy matching its manifest passes; each kind of difference is named', () => {
    const manifest = {
      'model.json': { type: 'file', size: 3, sha256: 'aaa' },
      sub: { type: 'dir' },
      'sub/link': { type: 'symlink', target: '../model.json' },
    } as const;
    assert.deepEqual(compareManifest(manifest, { ...manifest }), { ok: true, checked: 3, differenceCount: 0, differences: [] });
    const check = compareManifest(manifest, {
      'model.json': { type: 'file', size: 3, sha256: 'bbb' },
      sub: { type: 'file', size: 0, sha256: 'x' },
      extra: { type: 'dir' },
    });
    assert.equal(check.ok, false);
    assert.deepEqual(check.differences, [
      'model.json: sha256 differs',
      'sub: is a file of 0 bytes, expected a dir',
      'sub/link: missing',
      'extra: not in the manifest',
    ]);
    assert.deepEqual(manifestTotals(manifest), { files: 1, bytes: 3 });
  });
});
