import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PagerDutySettings } from '../config/paging';
import type { Logger } from '../observability/logger';
import { WebhookUnavailableError } from './adapters/errors';
import { postWebhook } from './adapters/http-webhook';
import { redactSecrets } from './adapters/secrets';

/** Name PagerDuty shows as the sender of every event. */
export const PAGERDUTY_CLIENT = 'self-healing-runbooks';

/** Posts of one event before a 429, a 5xx or a refused connection is reported as failed. @default 3 */
export const PAGERDUTY_ATTEMPTS = 3;

/** Longest a dedup key may be (Events API v2). */
const MAX_DEDUP_KEY = 255;
/** Longest summary PagerDuty keeps. */
const MAX_SUMMARY = 1024;

/** What a trigger says about the request it pages for. */
export interface PageFacts {
  dedupKey: string;
  summary: string;
  /** The affected target (PagerDuty's `source`). */
  source: string;
  severity: 'critical' | 'error' | 'warning' | 'info';
  /** The step the request is about. */
  component: string;
  /** The service. */
  group: string;
  /** The request type: approval, escalation, flap or budget. */
  class: string;
  customDetails: Record<string, unknown>;
  link: string;
  consoleUrl: string;
}

/** One event, as the routing key is added only when it is sent. */
export type PageEvent = { action: 'trigger'; facts: PageFacts } | { action: 'resolve'; dedupKey: string };

/** What one PagerDuty event reached. Never holds the routing key. */
export interface PageDelivery {
  action: 'trigger' | 'resolve';
  dedupKey: string;
  ok: boolean;
  /** HTTP status of the last answer, when one came. */
  status?: number;
  attempts: number;
  error?: string;
}

/**
 * The dedup key of one request's page: the same for its trigger and its
 * resolve, in every retry and on every worker. Incident ids too long to fit
 * are replaced by their hash.
 */
export function pageDedupKey(incidentId: string, requestId: string): string {
  const plain = `${incidentId}/${requestId}`;
  if (plain.length <= MAX_DEDUP_KEY) return plain;
  return `sha256:${createHash('sha256').update(incidentId).digest('hex')}/${requestId}`.slice(0, MAX_DEDUP_KEY);
}

/** The Events API v2 body of `event`, with the routing key it is sent under. */
export function pageEventBody(routingKey: string, event: PageEvent): Record<string, unknown> {
  if (event.action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: event.dedupKey };
  const f = event.facts;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: f.dedupKey,
    payload: {
      summary: f.summary.length > MAX_SUMMARY ? `${f.summary.slice(0, MAX_SUMMARY - 1)}…` : f.summary,
      source: f.source,
      severity: f.severity,
      component: f.component,
      group: f.group,
      class: f.class,
      custom_details: f.customDetails,
    },
    links: [{ href: f.link, text: 'Incident in the runbook console' }],
    client: PAGERDUTY_CLIENT,
    client_url: f.consoleUrl,
  };
}

async function readRoutingKey(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`routing key file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  const key = text.trim();
  if (key === '' || /\s/.test(key)) throw new Error(`routing key file ${file} must hold one routing key`);
  return key;
}

/**
 * Sends `events` in order to the Events API. A 429, a 5xx or a refused
 * connection is tried again a few times with a short pause; anything else,
 * or the last failure, is reported in the delivery rather than thrown, so a
 * page that cannot be sent never holds the incident up. Each event carries
 * the Idempotency-Key it is posted with, the same on every retry.
 */
export async function sendPages(settings: PagerDutySettings, events: readonly { event: PageEvent; idempotencyKey: string }[], logger: Logger, pauseMs = 250): Promise<PageDelivery[]> {
  const out: PageDelivery[] = [];
  let routingKey: string;
  try {
    routingKey = await readRoutingKey(settings.routingKeyFile);
  } catch (err) {
    const error = (err as Error).message;
    logger.warn('pagerduty routing key unavailable', { error });
    return events.map(({ event }) => ({ action: event.action, dedupKey: dedupKeyOf(event), ok: false, attempts: 0, error }));
  }
  for (const { event, idempotencyKey } of events) {
    const delivery: PageDelivery = { action: event.action, dedupKey: dedupKeyOf(event), ok: false, attempts: 0 };
    const body = pageEventBody(routingKey, event);
    for (;;) {
      delivery.attempts += 1;
      try {
        const result = await postWebhook({ url: settings.eventsUrl, body, timeoutMs: 5_000, idempotencyKey, dryRun: false });
        if (!result.dryRun) delivery.status = result.status;
        delivery.ok = true;
        delete delivery.error;
        break;
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number') delivery.status = status;
        delivery.error = redactSecrets((err as Error).message, [routingKey]);
        if (!(err instanceof WebhookUnavailableError) || delivery.attempts >= PAGERDUTY_ATTEMPTS) break;
        await new Promise((r) => setTimeout(r, pauseMs * delivery.attempts));
      }
    }
    if (!delivery.ok) logger.warn('pagerduty event failed', { action: delivery.action, dedupKey: delivery.dedupKey, attempts: delivery.attempts, error: delivery.error });
    out.push(delivery);
  }
  return out;
}

function dedupKeyOf(event: PageEvent): string {
  return event.action === 'resolve' ? event.dedupKey : event.facts.dedupKey;
}
