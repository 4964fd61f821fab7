import { headers } from 'nats';
import { InvalidSpecError } from './adapters/errors';
import { PUBLISH_SUBJECT } from '../schemas/adapter-inputs';
import type { NotifyAction } from '../schemas/runbook';
import { NatsUnavailableError } from './action-errors';
import { performed, planned } from './action-context';
import type { ActionContext } from './action-context';
import { callWebhook } from './call-webhook';
import type { ActionResult } from './types';

/**
 * Publishes the notification as JSON with a `Nats-Msg-Id` of the step's
 * idempotency key, so a JetStream stream on that subject keeps one copy of a
 * retried step. Waits for the server to have it (flush) before succeeding.
 */
async function publishNats(ctx: ActionContext, subject: string, message: string): Promise<ActionResult> {
  if (!PUBLISH_SUBJECT.test(subject)) throw new InvalidSpecError(`invalid NATS subject ${JSON.stringify(subject)}`);
  const nc = ctx.deps.nats;
  if (nc === undefined) {
    throw new NatsUnavailableError(`cannot notify ${subject}: this worker has no NATS connection configured`, false);
  }
  const payload = new TextEncoder().encode(
    JSON.stringify({
      incident_id: ctx.req.incidentId,
      step_id: ctx.req.stepId,
      message,
      ...(ctx.req.epoch === undefined ? {} : { epoch: ctx.req.epoch }),
    }),
  );
  if (ctx.dryRun) {
    return planned(`would publish ${payload.length} bytes of JSON to NATS subject ${subject} with Nats-Msg-Id ${ctx.idempotencyKey}`);
  }
  if (nc.isClosed()) throw new NatsUnavailableError(`cannot notify ${subject}: the NATS connection is closed`, true);
  const h = headers();
  h.set('Nats-Msg-Id', ctx.idempotencyKey);
  let timer: NodeJS.Timeout | undefined;
  try {
    nc.publish(subject, payload, { headers: h });
    // While the client reconnects, flush waits; give up in time to report a clear, retryable error.
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the server did not confirm within ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
    });
    await Promise.race([nc.flush(), late]);
  } catch (cause) {
    throw new NatsUnavailableError(`publishing to ${subject} failed: ${(cause as Error).message}`, true, { cause });
  } finally {
    clearTimeout(timer);
  }
  return performed(`notified NATS subject ${subject}`, { subject, delivered: true });
}

/** Tells people or systems about the incident through a webhook or a NATS subject. */
export async function runNotify(ctx: ActionContext, action: NotifyAction): Promise<ActionResult> {
  if (action.nats) return publishNats(ctx, action.nats.subject, action.message);
  if (action.webhook) {
    const r = await callWebhook(ctx, action.webhook, { message: action.message });
    if (r.dryRun) return planned(r.plan);
    return performed(`notified via webhook: HTTP ${r.status}`, { status: r.status, delivered: true });
  }
  throw new InvalidSpecError('notify needs one of webhook or nats');
}
