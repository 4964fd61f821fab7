import { mkdir } from 'node:fs/promises';
import { isRsyncPath } from '../../schemas/adapter-inputs';
import { CommandFailedError, InvalidSpecError, TimeoutError } from './errors';
import { runProcess, tailForMessage } from './process-runner';
import { DEFAULT_RSYNC_PATH } from './rsync';

/** rsync exit 24: source files vanished during the copy, which a live source does; the next pass sees the rest. */
const ACCEPTED_EXIT_CODES = new Set([0, 24]);

/** One pass of a replica following its source. */
export interface ReplicaCopyInput {
  /** Directory whose contents are copied. */
  source: string;
  /** Directory made to hold exactly those contents. */
  replica: string;
  /** Compare contents rather than size and modification time. */
  checksum: boolean;
  timeoutMs: number;
  rsyncPath?: string;
}

/** What one pass did. */
export interface ReplicaCopyResult {
  filesTransferred: number;
  deletedFiles: number;
  durationMs: number;
}

function stat(stdout: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+([\\d,]+)`, 'm').exec(stdout);
  return m?.[1] === undefined ? 0 : Number(m[1].replace(/,/g, ''));
}

/**
 * rsync argv of one pass: contents of `source` into `replica`, deleting what
 * the source no longer has. `--delay-updates` writes every changed file into
 * a hidden directory first and renames them all into place at the end,
 * `--delete-delay` deletes after that, so a reader of the replica sees each
 * file either whole old or whole new, and a pass that fails midway changes
 * no visible file.
 */
export function replicaCopyArgv(input: ReplicaCopyInput): string[] {
  return [
    input.rsyncPath ?? DEFAULT_RSYNC_PATH,
    '--archive',
    '--delete-delay',
    '--delay-updates',
    ...(input.checksum ? ['--checksum'] : []),
    '--stats',
    `--timeout=${Math.max(1, Math.ceil(input.timeoutMs / 1000))}`,
    '--',
    `${input.source.replace(/\/+$/, '')}/`,
    `${input.replica.replace(/\/+$/, '')}/`,
  ];
}

/** Copies `source` into `replica` once; throws CommandFailedError or TimeoutError when the pass did not complete. */
export async function copyToReplica(input: ReplicaCopyInput): Promise<ReplicaCopyResult> {
  for (const [label, value] of [['source', input.source], ['replica', input.replica]] as const) {
    if (!isRsyncPath(value)) throw new InvalidSpecError(`${label} must be an absolute local path, got ${JSON.stringify(value)}`);
  }
  const started = performance.now();
  // rsync creates only the last component of the destination.
  await mkdir(input.replica, { recursive: true });
  const outcome = await runProcess({ argv: replicaCopyArgv(input), timeoutMs: input.timeoutMs, maxOutputBytes: 16 * 1024, env: { LC_ALL: 'C' } });
  if (outcome.timedOut) throw new TimeoutError(`rsync did not finish within ${input.timeoutMs} ms`);
  if (outcome.exitCode === null || !ACCEPTED_EXIT_CODES.has(outcome.exitCode)) {
    throw new CommandFailedError(`rsync exited ${outcome.exitCode ?? outcome.signal}${tailForMessage(outcome.stderr)}`, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: '',
      stderr: outcome.stderr,
    });
  }
  return {
    filesTransferred: stat(outcome.stdout, 'Number of regular files transferred'),
    deletedFiles: stat(outcome.stdout, 'Number of deleted files'),
    durationMs: Math.round(performance.now() - started),
  };
}
