import { opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataProbeTarget } from '../schemas/runbook';
import type { ProbeOutcome } from './types';

/** Entries looked at before a data probe gives up counting, so a huge tree costs a bounded walk. */
const MAX_ENTRIES_SEEN = 10_000;

/**
 * Whether a data directory is there to copy from: a readable directory
 * holding at least `min_files` regular files (counted down the tree, up to a
 * bound). Unreachable data is `ok: false`, never an error.
 */
export async function probeData(target: DataProbeTarget): Promise<ProbeOutcome> {
  const started = performance.now();
  const done = (ok: boolean, detail: string, files?: number): ProbeOutcome => ({
    ok,
    latency_ms: Math.round(performance.now() - started),
    detail,
    ...(files === undefined ? {} : { files }),
  });
  try {
    const st = await stat(target.path);
    if (!st.isDirectory()) return done(false, `${target.path} is not a directory`);
  } catch (err) {
    return done(false, `${target.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let files = 0;
  let seen = 0;
  const pending = [target.path];
  try {
    while (pending.length > 0 && files < target.min_files && seen < MAX_ENTRIES_SEEN) {
      const dir = await opendir(pending.pop() as string);
      for await (const entry of dir) {
        seen += 1;
        if (entry.isFile()) files += 1;
        else if (entry.isDirectory()) pending.push(join(entry.parentPath, entry.name));
        if (files >= target.min_files || seen >= MAX_ENTRIES_SEEN) break;
      }
    }
  } catch (err) {
    return done(false, `reading ${target.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, files);
  }
  return files >= target.min_files
    ? done(true, `${target.path} holds data (at least ${files} file(s))`, files)
    : done(false, `${target.path} holds ${files} file(s), fewer than ${target.min_files}`, files);
}
