import path from 'node:path';
import { isRsyncPath } from '../../schemas/adapter-inputs';
import { CommandFailedError, InvalidSpecError, TimeoutError, VerificationFailedError } from './errors';
import { runProcess, tailForMessage } from './process-runner';

/** @default '/usr/bin/rsync' */
export const DEFAULT_RSYNC_PATH = '/usr/bin/rsync';
/** How often onProgress is called even when rsync prints nothing. @default 1000 */
export const DEFAULT_PROGRESS_INTERVAL_MS = 1000;
/** Itemized changes kept for plans and verification messages. */
const SAMPLE_LIMIT = 20;
/** rsync exit 24: source files vanished during the run; the verify pass judges the result. */
const ACCEPTED_EXIT_CODES = new Set([0, 24]);

/**
 * A one-way copy of `source` to `destination` (local absolute paths). rsync's
 * trailing-slash rule applies: `/a/` copies the contents of /a, `/a` copies /a itself.
 */
export interface SyncDataInput {
  source: string;
  destination: string;
  /** Delete destination files that are not in the source. */
  delete?: boolean;
  /** rsync exclude patterns, each passed as one `--exclude=PATTERN` argument. */
  exclude?: readonly string[];
  dryRun: boolean;
  /** Deadline for the transfer and the verify pass together. */
  timeoutMs: number;
  onProgress?: (progress: SyncProgress) => void;
  progressIntervalMs?: number;
  rsyncPath?: string;
}

/** Periodic progress report, suitable as an activity heartbeat detail. */
export interface SyncProgress {
  phase: 'transfer' | 'verify';
  /** Bytes done so far according to rsync, when it has said. */
  bytes: number | null;
  percent: number | null;
  itemsSeen: number;
  elapsedMs: number;
}

/** Counts from rsync's --stats. In dry-run they say what would be transferred. */
export interface SyncCounts {
  filesTransferred: number;
  bytesTransferred: number;
  totalFiles: number;
  deletedFiles: number;
}

/** Outcome of syncData. */
export type SyncDataResult =
  | ({ dryRun: false; verified: boolean; durationMs: number } & SyncCounts)
  | ({ dryRun: true; plan: string; durationMs: number } & SyncCounts);

/** Outcome of a read-only comparison pass. */
export interface VerifyResult {
  verified: boolean;
  differenceCount: number;
  /** The first few itemized differences, as rsync prints them. */
  differences: string[];
}

const ITEMIZED = /^(?:[<>ch.*][fdLDS]\S{9,}\s|\*deleting\s)/;
const PROGRESS = /^\s*(\d+)\s+(\d+)%/;

function assertPath(label: string, value: string): void {
  if (!isRsyncPath(value)) {
    throw new InvalidSpecError(`${label} must be an absolute local path, got ${JSON.stringify(value)}`);
  }
}

function validate(input: SyncDataInput): void {
  assertPath('source', input.source);
  assertPath('destination', input.destination);
  if (path.resolve(input.source) === path.resolve(input.destination)) {
    throw new InvalidSpecError('source and destination are the same path');
  }
  for (const pattern of input.exclude ?? []) {
    if (pattern === '' || /[\0\r\n]/.test(pattern)) {
      throw new InvalidSpecError(`invalid exclude pattern ${JSON.stringify(pattern)}`);
    }
  }
  if (!Number.isInteger(input.timeoutMs) || input.timeoutMs <= 0) {
    throw new InvalidSpecError('timeoutMs must be a positive integer');
  }
}

function filterArgs(input: SyncDataInput): string[] {
  return [...(input.delete ? ['--delete'] : []), ...(input.exclude ?? []).map((p) => `--exclude=${p}`)];
}

/** Reads rsync's stdout line by line as it streams, so huge listings are never held. */
class RsyncOutput {
  readonly stats = new Map<string, number>();
  readonly sample: string[] = [];
  items = 0;
  bytes: number | null = null;
  percent: number | null = null;
  private partial = '';

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split(/[\r\n]/);
    this.partial = lines.pop() ?? '';
    lines.forEach((line) => this.line(line));
  }

  end(): void {
    this.line(this.partial);
    this.partial = '';
  }

  private line(line: string): void {
    if (ITEMIZED.test(line)) {
      this.items += 1;
      if (this.sample.length < SAMPLE_LIMIT) this.sample.push(line);
      return;
    }
    const progress = PROGRESS.exec(line);
    if (progress) {
      this.bytes = Number(progress[1]);
      this.percent = Number(progress[2]);
      return;
    }
    const stat = /^([A-Z][A-Za-z ]+):\s+([\d,]+)/.exec(line);
    if (stat?.[1] !== undefined && stat[2] !== undefined) this.stats.set(stat[1], Number(stat[2].replace(/,/g, '')));
  }

  counts(): SyncCounts {
    const get = (name: string): number => {
      const value = this.stats.get(name);
      if (value === undefined) throw new CommandFailedError(`rsync --stats output lacks "${name}"`, noOutput);
      return value;
    };
    return {
      filesTransferred: get('Number of regular files transferred'),
      bytesTransferred: get('Total transferred file size'),
      totalFiles: get('Number of files'),
      deletedFiles: get('Number of deleted files'),
    };
  }
}

const noOutput = { exitCode: null, signal: null, stdout: '', stderr: '' };

async function runRsync(
  input: SyncDataInput,
  args: string[],
  timeoutMs: number,
  phase: SyncProgress['phase'],
): Promise<RsyncOutput> {
  const rsync = input.rsyncPath ?? DEFAULT_RSYNC_PATH;
  const output = new RsyncOutput();
  const started = performance.now();
  const report = (): void =>
    input.onProgress?.({
      phase,
      bytes: output.bytes,
      percent: output.percent,
      itemsSeen: output.items,
      elapsedMs: Math.round(performance.now() - started),
    });
  const ticker = input.onProgress ? setInterval(report, input.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS) : undefined;
  try {
    const outcome = await runProcess({
      argv: [rsync, ...args, '--', input.source, input.destination],
      timeoutMs,
      maxOutputBytes: 16 * 1024,
      env: { LC_ALL: 'C' },
      onStdout: (chunk) => output.push(chunk),
    });
    output.end();
    if (outcome.timedOut) throw new TimeoutError(`rsync ${phase} did not finish within ${timeoutMs} ms`);
    if (outcome.exitCode === null || !ACCEPTED_EXIT_CODES.has(outcome.exitCode)) {
      throw new CommandFailedError(`rsync ${phase} exited ${outcome.exitCode ?? outcome.signal}${tailForMessage(outcome.stderr)}`, {
        exitCode: outcome.exitCode,
        signal: outcome.signal,
        stdout: '',
        stderr: outcome.stderr,
      });
    }
    report();
    return output;
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

/**
 * Read-only comparison: `rsync --dry-run --checksum` with the same filters.
 * Any itemized line (a file to send, a changed attribute, a deletion) is a difference.
 */
export async function verifySync(input: Omit<SyncDataInput, 'dryRun'>): Promise<VerifyResult> {
  validate({ ...input, dryRun: true });
  return verifyWithin(input, input.timeoutMs);
}

async function verifyWithin(input: Omit<SyncDataInput, 'dryRun'>, timeoutMs: number): Promise<VerifyResult> {
  const args = ['--archive', '--checksum', '--dry-run', '--itemize-changes', ...filterArgs({ ...input, dryRun: true })];
  const output = await runRsync({ ...input, dryRun: true }, args, timeoutMs, 'verify');
  return { verified: output.items === 0, differenceCount: output.items, differences: output.sample };
}

/**
 * Copies source to destination with checksums, then runs a read-only pass
 * that must find nothing left to do; otherwise throws VerificationFailedError.
 * Dry-run asks rsync what it would transfer and touches nothing. Idempotent:
 * a second pass finds the destination matching and copies nothing.
 */
export async function syncData(input: SyncDataInput): Promise<SyncDataResult> {
  validate(input);
  const started = performance.now();
  const deadline = Date.now() + input.timeoutMs;
  const args = [
    '--archive',
    '--checksum',
    '--stats',
    '--itemize-changes',
    '--no-human-readable',
    ...(input.dryRun ? ['--dry-run'] : []),
    ...(input.onProgress && !input.dryRun ? ['--info=progress2'] : []),
    ...filterArgs(input),
  ];
  const output = await runRsync(input, args, input.timeoutMs, 'transfer');
  const counts = output.counts();

  if (input.dryRun) {
    const head = `would sync ${input.source} -> ${input.destination}: ${counts.filesTransferred} file(s), ${counts.bytesTransferred} byte(s), ${counts.deletedFiles} deletion(s) of ${counts.totalFiles} entries`;
    const more = output.items > output.sample.length ? [`... and ${output.items - output.sample.length} more`] : [];
    return {
      dryRun: true,
      plan: [head, ...output.sample, ...more].join('\n'),
      ...counts,
      durationMs: Math.round(performance.now() - started),
    };
  }

  const remaining = deadline - Date.now();
  if (remaining <= 0) throw new TimeoutError(`rsync left no time to verify within ${input.timeoutMs} ms`);
  const check = await verifyWithin(input, remaining);
  if (!check.verified) {
    throw new VerificationFailedError(
      `${input.destination} still differs from ${input.source} in ${check.differenceCount} item(s): ${check.differences.slice(0, 5).join('; ')}`,
    );
  }
  return { dryRun: false, ...counts, verified: true, durationMs: Math.round(performance.now() - started) };
}
