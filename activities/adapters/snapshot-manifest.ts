import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/*
 * The checksum manifest of a snapshot: every entry under its data directory
 * with its type, size and SHA-256 (files) or target (symlinks). Written when
 * the snapshot is taken; verification and restores compare a copy against it.
 */

/** One entry of a manifest. */
export type ManifestEntry =
  | { type: 'file'; size: number; sha256: string }
  | { type: 'dir' }
  | { type: 'symlink'; target: string };

/** Relative path (with `/`) → entry, sorted by path. */
export type ManifestEntries = Record<string, ManifestEntry>;

/** How many differences a comparison lists; the count covers all of them. */
const DIFFERENCE_SAMPLE = 20;

/** Outcome of comparing a copy with its manifest. */
export interface ManifestCheck {
  ok: boolean;
  /** Entries compared (those the manifest lists). */
  checked: number;
  differenceCount: number;
  /** The first few differences, e.g. `model.json: sha256 differs`. */
  differences: string[];
}

function sha256Of(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Walks `dir` and checksums every regular file; sockets, fifos and devices are not data and are left out. */
export async function buildManifest(dir: string): Promise<ManifestEntries> {
  const out: ManifestEntries = {};
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(dir, relPath);
      if (entry.isDirectory()) {
        out[relPath] = { type: 'dir' };
        await walk(relPath);
      } else if (entry.isFile()) {
        const st = await lstat(full);
        out[relPath] = { type: 'file', size: st.size, sha256: await sha256Of(full) };
      } else if (entry.isSymbolicLink()) {
        out[relPath] = { type: 'symlink', target: await readlink(full) };
      }
    }
  };
  await walk('');
  return out;
}

function describe(e: ManifestEntry): string {
  return e.type === 'file' ? `file of ${e.size} bytes` : e.type;
}

/**
 * Compares what a copy holds with what its manifest lists: every listed entry
 * must be there with the same type and checksum, and nothing unlisted may be
 * there. Pure.
 */
export function compareManifest(expected: ManifestEntries, actual: ManifestEntries): ManifestCheck {
  const differences: string[] = [];
  for (const [path, want] of Object.entries(expected)) {
    const got = actual[path];
    if (!got) differences.push(`${path}: missing`);
    else if (got.type !== want.type) differences.push(`${path}: is a ${describe(got)}, expected a ${describe(want)}`);
    else if (want.type === 'file' && got.type === 'file' && (got.size !== want.size || got.sha256 !== want.sha256)) {
      differences.push(`${path}: ${got.size !== want.size ? `size ${got.size}, expected ${want.size}` : 'sha256 differs'}`);
    } else if (want.type === 'symlink' && got.type === 'symlink' && got.target !== want.target) differences.push(`${path}: link target differs`);
  }
  for (const path of Object.keys(actual)) if (!Object.hasOwn(expected, path)) differences.push(`${path}: not in the manifest`);
  return { ok: differences.length === 0, checked: Object.keys(expected).length, differenceCount: differences.length, differences: differences.slice(0, DIFFERENCE_SAMPLE) };
}

/** Files and bytes a manifest lists. */
export function manifestTotals(entries: ManifestEntries): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of Object.values(entries)) {
    if (e.type !== 'file') continue;
    files += 1;
    bytes += e.size;
  }
  return { files, bytes };
}
