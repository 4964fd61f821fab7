import { InvalidSpecError } from './adapters/errors';
import { mapAdapterErrors } from './action-errors';
import { actionContext, performed, planned, throwIfCancelled, withHeartbeats } from './action-context';
import type { ActionContext } from './action-context';
import { callCommand } from './call-command';
import { pauseUnknown } from './guard-activities';
import type { ActivityDeps } from './deps';
import { ledgerKey, runOnce } from './effect-ledger';
import { runNotify } from './notify-action';
import { runProbeAction } from './probe-once';
import { runServiceAction } from './service-actions';
import { runSync } from './sync-action';
import { runBackup, runRestoreData } from './backup-actions';
import { runFaultAction } from './fault-actions';
import { runIsolate, runRestore } from './traffic-actions';
import type { CommandAction } from '../schemas/runbook';
import type { ActionRequest, ActionResult } from './types';

async function runCommandAction(ctx: ActionContext, action: CommandAction): Promise<ActionResult> {
  const { argv, env, secrets, max_output } = action;
  const r = await withHeartbeats(
    () => ({ command: argv[0] }),
    () => callCommand(ctx, { argv, env, secrets, max_output }, action.expect_exit_code),
  );
  if (r.dryRun) return planned(r.plan);
  return performed(`${argv[0] ?? ''} exited ${r.output.exit_code}`, { ...r.output });
}

async function dispatch(ctx: ActionContext): Promise<ActionResult> {
  const action = ctx.req.action;
  if (action.kind !== 'probe' && action.kind !== 'verify') throwIfCancelled(`${action.kind} ${ctx.req.stepId}`);
  switch (action.kind) {
    case 'probe':
    case 'verify':
      return runProbeAction(action, ctx.req.allowedExecutables);
    case 'isolate':
      return runIsolate(ctx, action);
    case 'restore':
      return runRestore(ctx, action);
    case 'start_service':
    case 'stop_service':
    case 'restart_service':
      return runServiceAction(ctx, action);
    case 'sync_data':
      return runSync(ctx, action);
    case 'backup':
      return runBackup(ctx, action);
    case 'restore_data':
      return runRestoreData(ctx, action);
    case 'notify':
      return runNotify(ctx, action);
    case 'command':
      return runCommandAction(ctx, action);
    case 'kill_process':
    case 'block_port':
    case 'unblock_port':
    case 'delete_data':
      return runFaultAction(ctx, action);
    case 'wait':
    case 'confirm':
      throw new InvalidSpecError(`${action.kind} steps are carried out by the workflow, not by runAction`);
  }
}

/**
 * Performs one runbook action (or plans it, in a dry run). Adapter errors
 * become Temporal failures typed by the adapter's error type, non-retryable
 * when the adapter says retrying cannot help.
 */
export async function runAction(deps: ActivityDeps, req: ActionRequest): Promise<ActionResult> {
  const ctx = actionContext(req, deps);
  const log = deps.logger.child({ incidentId: req.incidentId, stepId: req.stepId, kind: req.action.kind });
  if (req.holdWhilePaused && deps.pauseSwitch) {
    // Unknown is not "not paused": a switch that cannot be read holds the step until it can.
    const pause = await deps.pauseSwitch().catch((err: unknown) => pauseUnknown(`reading the pause switch failed: ${(err as Error).message}`));
    if (pause.paused) {
      log.info('action held: remediation is paused', { by: pause.by, reason: pause.reason });
      return { output: {}, dryRun: req.dryRun, summary: 'held: remediation is paused', held: pause };
    }
  }
  try {
    const act = (): Promise<ActionResult> => mapAdapterErrors(() => dispatch(ctx));
    const once = req.idempotent === false && !ctx.dryRun;
    const result = once
      ? await runOnce(
          deps.effects,
          {
            key: ledgerKey(ctx.idempotencyKey),
            attempt: req.attempt ?? 1,
            rerunAmbiguous: req.rerunAmbiguous === true,
            onUnrecordedFinish: (error) => log.warn('effect ledger: end of the action not recorded', { error }),
          },
          act,
        )
      : await act();
    log.info('action finished', { dryRun: result.dryRun, summary: result.summary, ...(result.replayed ? { replayed: true } : {}) });
    return result;
  } catch (err) {
    log.warn('action failed', { error: err });
    throw err;
  }
}
