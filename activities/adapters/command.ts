import { z } from 'zod';
import { isAbsolutePath, isAllowListEntry } from '../../schemas/adapter-inputs';
import { AllowListEntry, Argv } from '../../schemas/command-spec';
import { EnvName, SecretRef } from '../../schemas/secret-ref';
import { CommandFailedError, InvalidSpecError, NotAllowedError, TimeoutError } from './errors';
import { runProcess, tailForMessage } from './process-runner';
import { describeSecretRef, resolveSecrets, type SecretSource } from './secrets';

/**
 * What runCommand runs: a runbook command (`schemas/command-spec.ts`) once
 * the activity has added the step's deadline, output cap, allow-list and
 * environment. The allow-list rule is {@link AllowListEntry}'s.
 */
export const RunCommandInput = z.strictObject({
  argv: Argv,
  allowList: z.array(AllowListEntry),
  timeoutMs: z.number().int().positive(),
  maxOutputBytes: z.number().int().nonnegative(),
  /** Complete child environment; the worker's environment is not inherited. */
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().refine(isAbsolutePath, 'must be an absolute path').optional(),
  /** Child environment variable name → where its secret value comes from. */
  secrets: z.record(EnvName, SecretRef).optional(),
  dryRun: z.boolean(),
});
export type RunCommandInput = z.infer<typeof RunCommandInput>;

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

/** Throws NotAllowedError unless argv0 is admitted by the allow-list (see AllowListEntry). */
export function assertAllowed(argv0: string, allowList: readonly string[]): void {
  for (const entry of allowList) {
    if (!isAllowListEntry(entry)) {
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
export async function runCommand(input: RunCommandInput, deps: CommandDeps = {}): Promise<CommandResult> {
  const parsed = RunCommandInput.safeParse(input);
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
