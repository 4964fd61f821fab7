import { spawn } from 'node:child_process';
import { CommandFailedError, InvalidSpecError } from './errors';
import { signalProcessGroup } from '../../platform/process-group';
import { redactSecrets } from './secrets';

/*
 * The one place a child process is spawned for a bounded run: commands,
 * rsync and systemctl all go through runProcess. argv only, never a shell.
 */

/**
 * Search path given to children whose spec sets no PATH. The worker's own
 * environment is never inherited, so its credentials do not leak into commands.
 * @default '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How long a timed-out process group gets between SIGTERM and SIGKILL. @default 1000 */
export const DEFAULT_KILL_GRACE_MS = 1000;

/** How long to wait for output pipes after the main process exits (a grandchild may hold them). */
const PIPE_DRAIN_MS = 1000;

/** A process to run without a shell; the low-level form shared by the adapters. */
export interface ProcessSpec {
  argv: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
  /** Complete child environment (nothing is inherited). PATH defaults to DEFAULT_PATH. */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** Values hidden as `***` in the captured output. */
  redact?: readonly string[];
  /** Raw stdout chunks as they arrive, e.g. to parse progress. */
  onStdout?: (chunk: Buffer) => void;
  killGraceMs?: number;
}

/** How a process ended, with its bounded, redacted output. */
export interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Keeps the head of a stream. It holds a little more than the limit so a
 * secret that starts before the cut is seen whole, and hidden whole.
 */
class OutputCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(
    private readonly limit: number,
    private readonly slack: number,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.limit + this.slack - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  finish(secrets: readonly string[]): { text: string; truncated: boolean } {
    const raw = Buffer.concat(this.chunks);
    const text = raw.toString('utf8');
    // The character index matching `limit` bytes; a multi-byte character cut in two is dropped.
    const keepChars =
      raw.length > this.limit ? raw.subarray(0, this.limit).toString('utf8').replace(/\uFFFD$/, '').length : text.length;
    return { text: redactSecrets(text, secrets, keepChars), truncated: this.total > this.limit };
  }
}

/**
 * Runs argv directly (never through a shell) in its own process group, so a
 * timeout can kill everything it started. Resolves for any exit status; rejects
 * only when the program cannot be started at all.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessOutcome> {
  const [file, ...args] = spec.argv;
  if (file === undefined || file === '') {
    return Promise.reject(new InvalidSpecError('argv must not be empty'));
  }
  const secrets = spec.redact ?? [];
  const slack = secrets.reduce((max, s) => Math.max(max, Buffer.byteLength(s)), 0);
  const stdout = new OutputCapture(spec.maxOutputBytes, slack);
  const stderr = new OutputCapture(spec.maxOutputBytes, slack);
  const started = performance.now();

  return new Promise<ProcessOutcome>((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: { PATH: DEFAULT_PATH, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const timers: NodeJS.Timeout[] = [];

    const settle = (): void => {
      if (settled || exit === undefined) return;
      settled = true;
      timers.forEach(clearTimeout);
      child.stdout.destroy();
      child.stderr.destroy();
      const out = stdout.finish(secrets);
      const err = stderr.finish(secrets);
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        stdout: out.text,
        stderr: err.text,
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        timedOut,
        durationMs: Math.round(performance.now() - started),
      });
    };

    child.stdout.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      spec.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (cause) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      reject(
        new CommandFailedError(`cannot start ${file}: ${cause.message}`, {
          cause,
          exitCode: null,
          signal: null,
          stdout: '',
          stderr: '',
        }),
      );
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      timers.push(setTimeout(settle, PIPE_DRAIN_MS));
    });
    child.once('close', settle);

    timers.push(
      setTimeout(() => {
        if (child.pid === undefined || exit !== undefined) return;
        timedOut = true;
        const pid = child.pid;
        signalProcessGroup(pid, 'SIGTERM');
        signalProcessGroup(pid, 'SIGCONT');
        timers.push(setTimeout(() => signalProcessGroup(pid, 'SIGKILL'), spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
      }, spec.timeoutMs),
    );
  });
}

/** Last line of (already redacted) stderr, to make failure messages useful on their own. */
export function tailForMessage(stderr: string): string {
  const last = stderr.trimEnd().split('\n').pop()?.trim() ?? '';
  return last === '' ? '' : `: ${last.slice(0, 300)}`;
}
