import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { isRsyncPath, SNAPSHOT_ID } from '../../schemas/adapter-inputs';
import { CommandFailedError, InvalidSpecError, TargetNotFoundError, TimeoutError, VerificationFailedError } from './errors';
import { DEFAULT_RSYNC_PATH } from './rsync';
import { runProcess, tailForMessage } from './process-runner';
import { buildManifest, compareManifest, manifestTotals, type ManifestCheck, type ManifestEntries } from './snapshot-manifest';

/*
 * A backup repository: one directory per snapshot, named for its UTC
 * creation time, each holding `data/` (a complete copy; files unchanged since
 * the previous snapshot are hard links to it, through rsync `--link-dest`),
 * `manifest.json` (the checksum of every file) and, once checked,
 * `verification.json`. A snapshot being taken lives in `.partial-<key hash>`
 * and is renamed into place only once its manifest is written, so a listed
 * snapshot is always complete.
 */

const MANIFEST = 'manifest.json';
const VERIFICATION = 'verification.json';
const DATA = 'data';

const Entry = z.discriminatedUnion('type', [
  z.object({ type: z.literal('file'), size: z.number().int().min(0), sha256: z.string() }),
  z.object({ type: z.literal('dir') }),
  z.object({ type: z.literal('symlink'), target: z.string() }),
]);

/** What `manifest.json` holds. */
export const SnapshotManifest = z.object({
  version: z.literal(1),
  id: z.string().regex(SNAPSHOT_ID),
  created_at: z.iso.datetime(),
  source: z.string(),
  /** Idempotency key of the action that took it: a retry finds this snapshot instead of taking another. */
  key: z.string(),
  /** The snapshot unchanged files are hard links to, if any. */
  link_dest: z.string().nullable(),
  files: z.number().int().min(0),
  bytes: z.number().int().min(0),
  /** Bytes of files this snapshot stores itself (not hard links to the previous one), when it was taken. */
  new_bytes: z.number().int().min(0),
  entries: z.record(z.string(), Entry),
});
export type SnapshotManifest = z.infer<typeof SnapshotManifest>;

/** What `verification.json` holds: the last restore-and-check of the snapshot. */
export const SnapshotVerification = z.object({
  ok: z.boolean(),
  verified_at: z.iso.datetime(),
  checked: z.number().int().min(0),
  difference_count: z.number().int().min(0),
  differences: z.array(z.string()),
});
export type SnapshotVerification = z.infer<typeof SnapshotVerification>;

/** A complete snapshot as listed. */
export interface SnapshotInfo {
  id: string;
  /** The snapshot's directory. */
  path: string;
  dataDir: string;
  createdAt: number;
  manifest: SnapshotManifest;
  /** Absent until the snapshot was verified once. */
  verification?: SnapshotVerification;
}

/** How rsync is run by the snapshot functions. */
export interface RsyncRun {
  timeoutMs: number;
  rsyncPath?: string;
}

/** The id a snapshot created at `at` gets, e.g. `2026-01-31T23-59-59-000Z`. */
export function snapshotId(at: Date): string {
  return at.toISOString().replace(/[:.]/g, '-');
}

/** The creation time an id names, in ms since the epoch. */
export function snapshotTime(id: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(id);
  if (!m) throw new InvalidSpecError(`not a snapshot id: ${JSON.stringify(id)}`);
  return Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
}

function assertPath(label: string, value: string): void {
  if (!isRsyncPath(value)) throw new InvalidSpecError(`${label} must be an absolute local path, got ${JSON.stringify(value)}`);
}

const withSlash = (dir: string): string => `${dir.replace(/\/+$/, '')}/`;

async function readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes JSON through a temporary file and a rename, so a reader never sees half of it. */
async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

/** Complete snapshots of `repository`, oldest first; a directory without a readable manifest is not one. */
export async function listSnapshots(repository: string): Promise<SnapshotInfo[]> {
  assertPath('repository', repository);
  const names = await readdir(repository).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: SnapshotInfo[] = [];
  for (const id of names.filter((n) => SNAPSHOT_ID.test(n)).sort()) {
    const path = join(repository, id);
    const manifest = await readJson(join(path, MANIFEST), SnapshotManifest);
    if (!manifest || manifest.id !== id) continue;
    const verification = await readJson(join(path, VERIFICATION), SnapshotVerification);
    out.push({ id, path, dataDir: join(path, DATA), createdAt: snapshotTime(id), manifest, ...(verification ? { verification } : {}) });
  }
  return out;
}

/** The newest snapshot whose last verification passed. */
export function newestVerified(snapshots: readonly SnapshotInfo[]): SnapshotInfo | undefined {
  return [...snapshots].reverse().find((s) => s.verification?.ok === true);
}

async function rsync(run: RsyncRun, args: readonly string[], what: string): Promise<void> {
  const outcome = await runProcess({
    argv: [run.rsyncPath ?? DEFAULT_RSYNC_PATH, ...args],
    timeoutMs: run.timeoutMs,
    maxOutputBytes: 16 * 1024,
    env: { LC_ALL: 'C' },
  });
  if (outcome.timedOut) throw new TimeoutError(`rsync ${what} did not finish within ${run.timeoutMs} ms`);
  if (outcome.exitCode !== 0) {
    throw new CommandFailedError(`rsync ${what} exited ${outcome.exitCode ?? outcome.signal}${tailForMessage(outcome.stderr)}`, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: '',
      stderr: outcome.stderr,
    });
  }
}

/** Bytes of the files under `dir` that have one link only: stored by this snapshot, not shared with an earlier one. */
async function unsharedBytes(dir: string, entries: ManifestEntries): Promise<number> {
  let bytes = 0;
  for (const [rel, e] of Object.entries(entries)) {
    if (e.type !== 'file') continue;
    const st = await lstat(join(dir, rel));
    if (st.nlink === 1) bytes += st.size;
  }
  return bytes;
}

/** Input of takeSnapshot. */
export interface TakeSnapshotInput extends RsyncRun {
  /** The directory whose contents are backed up. */
  source: string;
  repository: string;
  /** Stable across retries of one action: a retry finds the snapshot the first attempt took. */
  key: string;
  dryRun: boolean;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Outcome of takeSnapshot. */
export type TakeSnapshotResult =
  | { dryRun: true; plan: string; linkDest: string | null }
  | { dryRun: false; snapshot: SnapshotInfo; linkDest: string | null; replayed: boolean };

/**
 * Takes a complete snapshot of `source`: rsync into a partial directory with
 * `--link-dest` against the newest snapshot (files compared by checksum, not
 * by size and time), checksum every file into the
 * manifest, then rename it into place. A retry with the same key returns the
 * snapshot already taken; one that finds its own partial directory carries on
 * from what it holds.
 */
export async function takeSnapshot(input: TakeSnapshotInput): Promise<TakeSnapshotResult> {
  assertPath('source', input.source);
  assertPath('repository', input.repository);
  const existing = await listSnapshots(input.repository);
  const done = existing.find((s) => s.manifest.key === input.key);
  const previous = existing.at(-1);
  if (done) return { dryRun: false, snapshot: done, linkDest: done.manifest.link_dest, replayed: true };
  const linkDest = previous?.id ?? null;
  if (input.dryRun) {
    const against = linkDest ? `, unchanged files hard-linked to ${linkDest}` : ' (the first snapshot: a full copy)';
    return { dryRun: true, plan: `would snapshot ${withSlash(input.source)} into ${input.repository}${against}`, linkDest };
  }
  await mkdir(input.repository, { recursive: true });
  const partial = join(input.repository, `.partial-${createHash('sha256').update(input.key).digest('hex').slice(0, 16)}`);
  await mkdir(join(partial, DATA), { recursive: true });
  // --checksum: a file rewritten within the same second at the same size must not be taken for unchanged and linked.
  const args = ['--archive', '--hard-links', '--delete', '--checksum', ...(previous ? [`--link-dest=${previous.dataDir}`] : []), '--', withSlash(input.source), withSlash(join(partial, DATA))];
  // The snapshot is named for when the copy began: its data is at least that fresh.
  let at = Math.max((input.now ?? Date.now)(), previous ? previous.createdAt + 1 : 0);
  while (existing.some((s) => s.id === snapshotId(new Date(at)))) at += 1;
  await rsync(input, args, 'snapshot');
  const entries = await buildManifest(join(partial, DATA));
  const id = snapshotId(new Date(at));
  const manifest: SnapshotManifest = {
    version: 1,
    id,
    created_at: new Date(at).toISOString(),
    source: input.source,
    key: input.key,
    link_dest: linkDest,
    ...manifestTotals(entries),
    new_bytes: await unsharedBytes(join(partial, DATA), entries),
    entries,
  };
  await writeJsonAtomically(join(partial, MANIFEST), manifest);
  const path = join(input.repository, id);
  await rename(partial, path);
  return { dryRun: false, snapshot: { id, path, dataDir: join(path, DATA), createdAt: at, manifest }, linkDest, replayed: false };
}

/** Input of verifySnapshot. */
export interface VerifySnapshotInput extends RsyncRun {
  snapshot: SnapshotInfo;
  /** Where the scratch copy is made. @default the system's temporary directory */
  scratchRoot?: string;
  now?: () => number;
}

/**
 * Restores the snapshot into a scratch directory with rsync, checks every
 * file against the manifest, records the outcome in `verification.json`, and
 * removes the scratch copy.
 */
export async function verifySnapshot(input: VerifySnapshotInput): Promise<SnapshotVerification> {
  const scratch = await mkdtemp(join(input.scratchRoot ?? tmpdir(), `runbook-verify-${input.snapshot.id}-`));
  try {
    await rsync(input, ['--archive', '--hard-links', '--', withSlash(input.snapshot.dataDir), withSlash(join(scratch, DATA))], 'verification restore');
    const check = compareManifest(input.snapshot.manifest.entries, await buildManifest(join(scratch, DATA)));
    const verification: SnapshotVerification = {
      ok: check.ok,
      verified_at: new Date((input.now ?? Date.now)()).toISOString(),
      checked: check.checked,
      difference_count: check.differenceCount,
      differences: check.differences,
    };
    await writeJsonAtomically(join(input.snapshot.path, VERIFICATION), verification);
    input.snapshot.verification = verification;
    return verification;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Input of restoreSnapshot. */
export interface RestoreSnapshotInput extends RsyncRun {
  repository: string;
  destination: string;
  /** A snapshot id; absent means the newest verified one. */
  snapshot?: string;
  dryRun: boolean;
}

/** Outcome of restoreSnapshot. */
export type RestoreSnapshotResult =
  | { dryRun: true; plan: string; snapshot: SnapshotInfo }
  | { dryRun: false; snapshot: SnapshotInfo; check: ManifestCheck };

/** Picks the snapshot a restore uses: the named one, or the newest verified. */
export async function pickSnapshot(repository: string, id: string | undefined): Promise<SnapshotInfo> {
  const snapshots = await listSnapshots(repository);
  if (id !== undefined) {
    const named = snapshots.find((s) => s.id === id);
    if (!named) throw new TargetNotFoundError(`no snapshot ${id} in ${repository}`);
    return named;
  }
  const newest = newestVerified(snapshots);
  if (!newest) {
    throw new TargetNotFoundError(
      snapshots.length === 0 ? `no snapshots in ${repository}` : `none of the ${snapshots.length} snapshot(s) in ${repository} is verified`,
    );
  }
  return newest;
}

/**
 * Makes `destination` hold exactly the snapshot (rsync `--delete --checksum`),
 * then checks every file there against the manifest; a difference throws
 * VerificationFailedError. Idempotent: restoring twice leaves the same files.
 */
export async function restoreSnapshot(input: RestoreSnapshotInput): Promise<RestoreSnapshotResult> {
  assertPath('repository', input.repository);
  assertPath('destination', input.destination);
  const snapshot = await pickSnapshot(input.repository, input.snapshot);
  if (input.dryRun) {
    const { files, bytes } = snapshot.manifest;
    return { dryRun: true, plan: `would restore snapshot ${snapshot.id} (${files} file(s), ${bytes} byte(s)) into ${withSlash(input.destination)}, deleting what it does not hold`, snapshot };
  }
  await mkdir(input.destination, { recursive: true });
  await rsync(input, ['--archive', '--hard-links', '--delete', '--checksum', '--', withSlash(snapshot.dataDir), withSlash(input.destination)], 'restore');
  const check = compareManifest(snapshot.manifest.entries, await buildManifest(input.destination));
  if (!check.ok) {
    throw new VerificationFailedError(`${input.destination} differs from snapshot ${snapshot.id} in ${check.differenceCount} item(s): ${check.differences.slice(0, 5).join('; ')}`);
  }
  return { dryRun: false, snapshot, check };
}

/** Deletes the named snapshots of `repository` (retention decided which). */
export async function removeSnapshots(repository: string, ids: readonly string[]): Promise<void> {
  assertPath('repository', repository);
  for (const id of ids) {
    if (!SNAPSHOT_ID.test(id)) throw new InvalidSpecError(`refusing to remove ${JSON.stringify(id)}: not a snapshot id`);
    // The manifest goes first: a removal cut short leaves a directory that is no longer listed as a snapshot.
    await rm(join(repository, id, MANIFEST), { force: true });
    await rm(join(repository, id), { recursive: true, force: true });
  }
}
