import { InvalidSpecError, WebhookRejectedError, WebhookUnavailableError } from './adapters/errors';
import { postWebhook } from './adapters/http-webhook';
import type { Webhook } from '../schemas/runbook';
import type { ActionContext } from './action-context';

/** What a webhook call gave: the receiver's status, or the plan in a dry run. */
export type WebhookCallResult = { dryRun: true; plan: string } | { dryRun: false; status: number; latencyMs: number };

/**
 * The JSON sent to a runbook webhook: who is asking (`incident_id`,
 * `step_id`, `action`), the action's own fields, then the runbook's `body`.
 * The isolation `epoch` is set last so a body cannot replace the fencing token.
 */
export function webhookBody(ctx: ActionContext, hook: Webhook, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    incident_id: ctx.req.incidentId,
    step_id: ctx.req.stepId,
    action: ctx.req.action.kind,
    ...fields,
    ...hook.body,
    ...(ctx.req.epoch === undefined ? {} : { epoch: ctx.req.epoch }),
  };
}

/**
 * POSTs a runbook webhook with the step's Idempotency-Key, so a retried step
 * is seen once by a receiver that de-duplicates. With `expect_status`, only
 * that status succeeds (even a 4xx the adapter would otherwise reject).
 */
export async function callWebhook(
  ctx: ActionContext,
  hook: Webhook,
  fields: Record<string, unknown> = {},
): Promise<WebhookCallResult> {
  if (hook.method !== 'POST') {
    throw new InvalidSpecError(`webhook method ${hook.method} is not supported; only POST is`);
  }
  const started = performance.now();
  try {
    const result = await postWebhook(
      {
        url: hook.url,
        body: webhookBody(ctx, hook, fields),
        headers: hook.headers,
        secretHeaders: hook.secret_headers,
        timeoutMs: ctx.timeoutMs,
        idempotencyKey: ctx.idempotencyKey,
        dryRun: ctx.dryRun,
      },
      { secretSource: ctx.deps.secretSource },
    );
    if (result.dryRun) return result;
    if (hook.expect_status !== undefined && result.status !== hook.expect_status) {
      throw new WebhookRejectedError(`webhook answered ${result.status}, expected ${hook.expect_status}`, result.status);
    }
    return { dryRun: false, status: result.status, latencyMs: result.latencyMs };
  } catch (err) {
    const expectedRefusal =
      (err instanceof WebhookRejectedError || err instanceof WebhookUnavailableError) &&
      hook.expect_status !== undefined &&
      err.status === hook.expect_status;
    if (!expectedRefusal) throw err;
    return { dryRun: false, status: hook.expect_status as number, latencyMs: Math.round(performance.now() - started) };
  }
}
