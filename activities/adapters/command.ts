import { spawn } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import {
  CommandFailedError,
  InvalidSpecError,
  NotAllowedError,
  TimeoutError,
} from './errors';
import { describeSecretRef, redactSecrets, resolveSecrets, SecretRef } from './secrets';
import type { SecretSource } from './secrets';

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

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
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
        killGroup(pid, 'SIGTERM');
        killGroup(pid, 'SIGCONT');
        timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), spec.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
      }, spec.timeoutMs),
    );
  });
}

/**
 * A command a runbook asks to run.
 *
 * Allow-list rule: an entry containing `/` must be an absolute path and matches
 * only an identical argv[0]; an entry without `/` is a bare program name and
 * matches only an identical bare argv[0], which is then looked up on the
 * child's PATH. A bare entry never admits a path ending in that name.
 */
export const CommandSpec = z.object({
  argv: z.array(z.string()).min(1),
  allowList: z.array(z.string().min(1)),
  timeoutMs: z.number().int().positive(),
  maxOutputBytes: z.number().int().nonnegative(),
  /** Complete child environment; the worker's environment is not inherited. */
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path').optional(),
  /** Child environment variable name → where its secret value comes from. */
  secrets: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), SecretRef).optional(),
  dryRun: z.boolean(),
});
export type CommandSpec = z.infer<typeof CommandSpec>;

/** What runCommand reports: the finished run, or the plan when dry-running. */
export type CommandResult =
  | {
      dryRun: false;
      exitCode: 0;
      stdout: string;
      stderr: string;
      stdoutTruncated: boolean;
      stderrTruncated: boolean;
      durationMs: number;
    }
  | { dryRun: true; plan: string };

/** Dependencies of runCommand that come from the worker's configuration. */
export interface CommandDeps {
  secretSource?: SecretSource;
}

/** Throws NotAllowedError unless argv0 is admitted by the allow-list (see CommandSpec). */
export function assertAllowed(argv0: string, allowList: readonly string[]): void {
  for (const entry of allowList) {
    if (entry.includes('/') && !path.isAbsolute(entry)) {
      throw new InvalidSpecError(`allow-list entry ${JSON.stringify(entry)} must be absolute or a bare name`);
    }
  }
  if (!allowList.includes(argv0)) {
    throw new NotAllowedError(`program ${JSON.stringify(argv0)} is not in the allow-list`);
  }
}

/**
 * Runs an allow-listed program without a shell. Secret values go into the
 * child's environment only, and are replaced by `***` wherever they show up
 * in the captured output. Exit status other than 0 throws CommandFailedError;
 * exceeding the timeout kills the process group and throws TimeoutError.
 */
export async function runCommand(input: CommandSpec, deps: CommandDeps = {}): Promise<CommandResult> {
  const parsed = CommandSpec.safeParse(input);
  if (!parsed.success) throw new InvalidSpecError(`invalid command: ${z.prettifyError(parsed.error)}`);
  const spec = parsed.data;
  const argv0 = spec.argv[0] as string;
  assertAllowed(argv0, spec.allowList);

  const refs = spec.secrets ?? {};
  const secretValues = await resolveSecrets(refs, deps.secretSource ?? { env: {} });
  const values = Object.values(secretValues);
  if (spec.argv.some((arg) => values.some((v) => arg.includes(v)))) {
    throw new NotAllowedError('argv contains a secret value; pass secrets through the environment');
  }

  if (spec.dryRun) {
    const secretText = Object.entries(refs).map(([name, ref]) => `${name} from ${describeSecretRef(ref)}`);
    const parts = [
      `would run ${spec.argv.map((a) => JSON.stringify(a)).join(' ')}`,
      spec.cwd === undefined ? undefined : `in ${spec.cwd}`,
      `with timeout ${spec.timeoutMs} ms`,
      spec.env === undefined ? undefined : `env ${Object.keys(spec.env).join(', ') || '(empty)'}`,
      secretText.length === 0 ? undefined : `secrets ${secretText.join(', ')}`,
    ];
    return { dryRun: true, plan: parts.filter((p) => p !== undefined).join('; ') };
  }

  const outcome = await runProcess({
    argv: spec.argv,
    timeoutMs: spec.timeoutMs,
    maxOutputBytes: spec.maxOutputBytes,
    env: { ...spec.env, ...secretValues },
    cwd: spec.cwd,
    redact: values,
  });
  if (outcome.timedOut) {
    throw new TimeoutError(`${argv0} did not finish within ${spec.timeoutMs} ms; its process group was killed`);
  }
  if (outcome.exitCode !== 0) {
    const how = outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited ${outcome.exitCode}`;
    throw new CommandFailedError(`${argv0} ${how}${tailForMessage(outcome.stderr)}`, {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
    });
  }
  return {
    dryRun: false,
    exitCode: 0,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    stdoutTruncated: outcome.stdoutTruncated,
    stderrTruncated: outcome.stderrTruncated,
    durationMs: outcome.durationMs,
  };
}

/** Last line of (already redacted) stderr, to make failure messages useful on their own. */
export function tailForMessage(stderr: string): string {
  const last = stderr.trimEnd().split('\n').pop()?.trim() ?? '';
  return last === '' ? '' : `: ${last.slice(0, 300)}`;
}
