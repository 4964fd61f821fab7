import { CommandFailedError, NotAllowedError } from './adapters/errors';
import { runCommand } from './adapters/command';
import type { CommandSpec } from '../schemas/runbook';
import type { ActionContext } from './action-context';

/** What a command call gave: its exit code and (truncated, redacted) output, or the plan in a dry run. */
export type CommandCallResult =
  | { dryRun: true; plan: string }
  | {
      dryRun: false;
      output: {
        exit_code: number;
        stdout: string;
        stderr: string;
        stdout_truncated?: boolean;
        stderr_truncated?: boolean;
      };
    };

/**
 * The child's environment: the runbook's `env`, then `RUNBOOK_INCIDENT_ID`,
 * `RUNBOOK_STEP_ID`, `RUNBOOK_IDEMPOTENCY_KEY` (the same on every attempt of
 * the step, so a command can de-duplicate) and, after an isolation,
 * `RUNBOOK_ISOLATION_EPOCH`. Secrets are added by the adapter, from the
 * worker's secret source.
 */
export function commandEnv(ctx: ActionContext, spec: CommandSpec): Record<string, string> {
  return {
    ...spec.env,
    RUNBOOK_INCIDENT_ID: ctx.req.incidentId,
    RUNBOOK_STEP_ID: ctx.req.stepId,
    RUNBOOK_IDEMPOTENCY_KEY: ctx.idempotencyKey,
    ...(ctx.req.epoch === undefined ? {} : { RUNBOOK_ISOLATION_EPOCH: String(ctx.req.epoch) }),
  };
}

/**
 * Runs a runbook command without a shell, only if argv[0] is in the runbook's
 * allow-list. Succeeds when it exits with `expectExitCode` (default 0).
 */
export async function callCommand(ctx: ActionContext, spec: CommandSpec, expectExitCode = 0): Promise<CommandCallResult> {
  if (ctx.req.allowedExecutables.length === 0) {
    throw new NotAllowedError('this runbook allows no commands: settings.allowed_executables is empty');
  }
  const argv0 = spec.argv[0] ?? '';
  try {
    const result = await runCommand(
      {
        argv: spec.argv,
        allowList: ctx.req.allowedExecutables,
        timeoutMs: ctx.timeoutMs,
        maxOutputBytes: spec.max_output,
        env: commandEnv(ctx, spec),
        secrets: spec.secrets,
        dryRun: ctx.dryRun,
      },
      { secretSource: ctx.deps.secretSource },
    );
    if (result.dryRun) {
      const expecting = expectExitCode === 0 ? '' : `; expects exit ${expectExitCode}`;
      return { dryRun: true, plan: `${result.plan}${expecting}` };
    }
    if (expectExitCode !== 0) {
      throw new CommandFailedError(`${argv0} exited 0, expected ${expectExitCode}`, {
        exitCode: 0,
        signal: null,
        stdout: result.stdout,
        stderr: result.stderr,
      });
    }
    return {
      dryRun: false,
      output: {
        exit_code: 0,
        stdout: result.stdout,
        stderr: result.stderr,
        stdout_truncated: result.stdoutTruncated,
        stderr_truncated: result.stderrTruncated,
      },
    };
  } catch (err) {
    if (!(err instanceof CommandFailedError) || expectExitCode === 0 || err.exitCode !== expectExitCode) throw err;
    return { dryRun: false, output: { exit_code: err.exitCode, stdout: err.stdout, stderr: err.stderr } };
  }
}
