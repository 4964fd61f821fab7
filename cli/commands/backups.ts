import { resolve } from 'node:path';
import { listSnapshots, verifySnapshot, type SnapshotInfo, type SnapshotVerification } from '../../activities/adapters/snapshots';
import { loadBackupsFileIfPresent } from '../../config/backups';
import { loadConfig } from '../../config/config';
import { ageSeconds } from '../../engine/retention';
import { isRsyncPath } from '../../schemas/adapter-inputs';
import { parseFlags, type CliCommand } from '../command';
import { CliError } from '../context';
import { formatTable } from '../table';
import { terminalJson } from '../../observability/terminal-text';

const USAGE = 'runbook backups [list|verify] [--backups-file FILE | --repository DIR] [--snapshot ID] [--json]';

const OPTIONS = {
  'backups-file': { type: 'string' },
  repository: { type: 'string' },
  snapshot: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Longest a verification of one snapshot may take. */
const VERIFY_TIMEOUT_MS = 30 * 60_000;

interface Repo {
  name: string;
  path: string;
  maxAge?: string;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(1)} ${units[u] ?? ''}`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

function verdict(v: SnapshotVerification | undefined): string {
  if (!v) return 'not verified';
  return v.ok ? `ok ${v.verified_at}` : `FAILED ${v.verified_at}: ${v.difference_count} difference(s): ${v.differences.slice(0, 3).join('; ')}`;
}

function snapshotJson(repo: Repo, s: SnapshotInfo, now: number): Record<string, unknown> {
  const m = s.manifest;
  return { repository: repo.name, path: s.path, snapshot: s.id, created_at: m.created_at, age_seconds: ageSeconds(s.createdAt, now), files: m.files, bytes: m.bytes, new_bytes: m.new_bytes, link_dest: m.link_dest, verification: s.verification ?? null };
}

async function repositories(values: { 'backups-file'?: string; repository?: string }): Promise<Repo[]> {
  if (values.repository !== undefined) {
    const path = resolve(values.repository);
    if (!isRsyncPath(path)) throw new CliError(`--repository ${JSON.stringify(values.repository)}: not a usable local path`);
    return [{ name: path, path }];
  }
  const file = resolve(values['backups-file'] ?? loadConfig().backupsFile);
  const watched = await loadBackupsFileIfPresent(file);
  const repos = Object.entries(watched).map(([name, w]) => ({ name, path: w.repository, maxAge: w.max_age }));
  if (repos.length === 0) throw new CliError(`no repositories: ${file} does not exist or names none; pass --repository DIR or --backups-file FILE`);
  return repos;
}

/**
 * `runbook backups`: the snapshots of each backup repository (id, age, size,
 * what is new, the last verification), or `verify`, which restores each
 * snapshot (or the one `--snapshot` names) into a scratch directory, checks it
 * against its manifest and records the result. Exit code 1 when a
 * verification fails.
 */
export const backupsCommand: CliCommand = {
  name: 'backups',
  summary: 'list backup snapshots (size, age, verification) or verify them by a restore into scratch',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, OPTIONS, USAGE);
    const [action = 'list', ...extra] = positionals;
    if (extra.length > 0 || (action !== 'list' && action !== 'verify')) throw new CliError(`unexpected arguments: ${positionals.join(' ')}\nusage: ${USAGE}`);
    const repos = await repositories(values);
    const now = Date.now();
    const rows: string[][] = [];
    const json: Record<string, unknown>[] = [];
    let failed = 0;
    let matched = 0;
    for (const repo of repos) {
      const snapshots = (await listSnapshots(repo.path)).filter((s) => values.snapshot === undefined || s.id === values.snapshot);
      matched += snapshots.length;
      for (const s of snapshots.reverse()) {
        if (action === 'verify') {
          const v = await verifySnapshot({ snapshot: s, timeoutMs: VERIFY_TIMEOUT_MS });
          if (!v.ok) failed += 1;
        }
        json.push(snapshotJson(repo, s, now));
        rows.push([repo.name, s.id, age(ageSeconds(s.createdAt, now)), String(s.manifest.files), bytes(s.manifest.bytes), bytes(s.manifest.new_bytes), verdict(s.verification)]);
      }
      if (snapshots.length === 0 && values.snapshot === undefined) rows.push([repo.name, '(none)', '', '', '', '', '']);
    }
    if (values.snapshot !== undefined && matched === 0) throw new CliError(`no snapshot ${values.snapshot} in ${repos.map((r) => r.path).join(', ')}`, 1);
    if (values.json) process.stdout.write(`${terminalJson(json)}\n`);
    else process.stdout.write(formatTable(['REPOSITORY', 'SNAPSHOT', 'AGE', 'FILES', 'SIZE', 'NEW', 'VERIFIED'], rows));
    return failed > 0 ? 1 : 0;
  },
};
