import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';
import type { ActionRequest, ActionResult } from './types';

/** Fallback deadline when neither the request nor the activity gives one. @default 60000 */
export const DEFAULT_ACTION_TIMEOUT_MS = 60_000;
/** Heartbeat period when the activity has no heartbeat timeout. @default 5000 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/** Headroom left between the action's own deadline and Temporal's, so the action fails with a clear error first. */
const MAX_MARGIN_MS = 2_000;
const MIN_TIMEOUT_MS = 500;

/** Everything one action needs, resolved once per call. */
export interface ActionContext {
  req: ActionRequest;
  deps: ActivityDeps;
  /** The request's dry run, or the worker's. */
  dryRun: boolean;
  /** Deadline for the action's own work, in ms. */
  timeoutMs: number;
  idempotencyKey: string;
}

/** Builds the context of one runAction call. Must run inside an activity. */
export function actionContext(req: ActionRequest, deps: ActivityDeps): ActionContext {
  return {
    req,
    deps,
    dryRun: deps.dryRun || req.dryRun,
    timeoutMs: req.timeoutMs ?? activityBudgetMs(),
    idempotencyKey: req.idempotencyKey ?? `${req.incidentId}/${req.stepId}`,
  };
}

/** A little less than the activity's start-to-close timeout. */
export function activityBudgetMs(): number {
  const limit = Context.current().info.startToCloseTimeoutMs || DEFAULT_ACTION_TIMEOUT_MS;
  return Math.max(MIN_TIMEOUT_MS, limit - Math.min(MAX_MARGIN_MS, Math.floor(limit / 10)));
}

/** Records progress with Temporal; `details` must hold no secrets. */
export function heartbeat(details: unknown): void {
  Context.current().heartbeat(details);
}

/**
 * Runs `fn` while heartbeating `details()` periodically, so a long action
 * is not timed out by its heartbeat timeout and can learn of cancellation.
 */
export async function withHeartbeats<T>(details: () => unknown, fn: () => Promise<T>): Promise<T> {
  const configured = Context.current().info.heartbeatTimeoutMs;
  const every = configured ? Math.max(100, Math.floor(configured / 3)) : DEFAULT_HEARTBEAT_INTERVAL_MS;
  heartbeat(details());
  const timer = setInterval(() => heartbeat(details()), every);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Refuses to begin a change once the activity is cancelled. The adapters take
 * no abort signal, so a change already under way runs to its own deadline.
 */
export function throwIfCancelled(what: string): void {
  if (Context.current().cancellationSignal.aborted) throw new CancelledFailure(`cancelled before ${what}`);
}

/** Result of a dry run: the plan, and `{ dry_run: true }` plus what was read as output. */
export function planned(plan: string, output: Record<string, unknown> = {}): ActionResult {
  return { dryRun: true, plan, output: { dry_run: true, ...output }, summary: `dry run: ${plan.split('\n')[0] ?? ''}` };
}

/** Result of an action that ran. */
export function performed(summary: string, output: Record<string, unknown>): ActionResult {
  return { dryRun: false, output, summary };
}
