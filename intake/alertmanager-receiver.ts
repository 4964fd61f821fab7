import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JetStreamClient } from 'nats';
import { readBody, sendJson, type Route } from '../observability/http-server';
import type { Logger } from '../observability/logger';
import { refuseUnread } from '../observability/refuse-unread';
import type { RateLimiter } from '../observability/rate-limit';
import { faultSubjectFor, type FaultEvent } from '../schemas/fault-event';
import { incidentIdFor } from '../schemas/identifiers';
import type { AlertmanagerMapping } from '../schemas/alertmanager';
import { alertsToFaultEvents, MAX_ALERTMANAGER_BODY_BYTES, parseAlertmanagerBody } from './alertmanager';
import { storeDeadLetter } from './dead-letter';
import type { IntakeMetrics } from './metrics';
import { NOT_CONFIGURED_MESSAGE, type WebhookAuthenticator } from './webhook-auth';
import { publishDurably } from '../platform/jetstream-publish';

/** Path Alertmanager (or Grafana) posts webhook notifications to. */
export const ALERTMANAGER_PATH = '/alertmanager';

/** @default 5 s for JetStream to confirm each stored event. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;
/**
 * How long the receiver retries an event through a stream leader election or
 * a reconnect before it answers 503. Shorter than the general bound because
 * Alertmanager is waiting on the request and retries a 5xx itself.
 * @default 10 s
 */
export const DEFAULT_RECEIVER_PUBLISH_DEADLINE_MS = 10_000;

/** What the receiver needs. */
export interface AlertmanagerReceiverDeps {
  js: JetStreamClient;
  mapping: AlertmanagerMapping;
  logger: Logger;
  metrics: Pick<IntakeMetrics, 'alerts' | 'webhookUnauthorized' | 'webhookRateLimited'>;
  /** Who may post; see intake/webhook-auth.ts. */
  auth: WebhookAuthenticator;
  /** Requests per client address. */
  limiter: RateLimiter;
  now?: () => Date;
  publishTimeoutMs?: number;
  /** How long one event is retried (same id) before the receiver answers 503; @default {@link DEFAULT_RECEIVER_PUBLISH_DEADLINE_MS} */
  publishDeadlineMs?: number;
  /** @default {@link MAX_ALERTMANAGER_BODY_BYTES} */
  maxBodyBytes?: number;
  /** The server's `max_payload`, which bounds a dead letter. */
  maxPayload?: () => number;
}

/** One fault event stored from a notification. */
export interface StoredAlert {
  eventId: string;
  subject: string;
  incidentId: string;
  status: FaultEvent['status'];
  seq: number;
  /** JetStream already held this event id (a repeated notification). */
  duplicate: boolean;
}

/** The 200 reply: what was stored, and which alerts could not become faults (kept as dead letters). */
export interface AlertmanagerReply {
  stored: number;
  duplicates: number;
  events: StoredAlert[];
  rejected: { index: number; error: string }[];
}

const encoder = new TextEncoder();

/** Answers before (or instead of) using the body; the connection is closed once the sender has finished sending it. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  refuseUnread(req, res, status, { error });
}

/**
 * The bytes a dead letter keeps for an unmappable alert: the alert as sent,
 * or the whole notification when the alert nests too deeply for
 * JSON.stringify (which recurses and would overflow the stack).
 */
function unmappableBytes(raw: unknown, body: Uint8Array): { data: Uint8Array; whole: boolean } {
  try {
    return { data: encoder.encode(JSON.stringify(raw ?? null)), whole: false };
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { data: body, whole: true };
  }
}

/** Whether a Content-Type names JSON (parameters such as charset allowed). */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

/**
 * `POST /alertmanager`: maps each alert of a webhook notification to a fault
 * event and stores it in JetStream under its event id. Replies 200 only once
 * every event is stored. Before the body is read, the request must pass, in
 * this order: the per-address rate limit (429 with Retry-After, so guessing
 * credentials is bounded too), the credential (401 with WWW-Authenticate;
 * 503 when none is configured), `Content-Type: application/json` (415) and
 * the size limit (413). Then 400 for a malformed body, and 503 when
 * JetStream did not confirm (the sender retries; the event ids make a retry
 * harmless). Alerts that cannot be mapped are kept as dead letters and
 * listed in the reply rather than failing the whole group.
 */
export function alertmanagerRoute(deps: AlertmanagerReceiverDeps): Route {
  const maxBytes = deps.maxBodyBytes ?? MAX_ALERTMANAGER_BODY_BYTES;
  const timeout = deps.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const deadlineMs = deps.publishDeadlineMs ?? DEFAULT_RECEIVER_PUBLISH_DEADLINE_MS;
  return async (req, res, url) => {
    if (url.pathname !== ALERTMANAGER_PATH) return false;
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      sendJson(res, 405, { error: `use POST ${ALERTMANAGER_PATH}` });
      return true;
    }
    const rate = deps.limiter.take(req.socket.remoteAddress ?? 'unknown');
    if (!rate.allowed) {
      deps.metrics.webhookRateLimited.inc();
      res.setHeader('retry-after', String(rate.retryAfterSeconds));
      refuse(req, res, 429, `too many requests from this address; retry after ${rate.retryAfterSeconds} s`);
      return true;
    }
    const verdict = deps.auth.check(req.headers.authorization);
    if (!verdict.ok) {
      deps.metrics.webhookUnauthorized.inc();
      if (verdict.reason === 'not_configured' || verdict.reason === 'unavailable') {
        const error = verdict.reason === 'unavailable' ? `the receiver's credential could not be loaded (${verdict.error}); every request is refused until it is fixed` : NOT_CONFIGURED_MESSAGE;
        deps.logger.warn('Alertmanager notification refused: no usable credential', { reason: verdict.reason });
        refuse(req, res, 503, error);
        return true;
      }
      res.setHeader('www-authenticate', deps.auth.challenge());
      refuse(req, res, 401, verdict.reason === 'missing' ? 'credentials are required (bearer token or basic auth)' : verdict.reason === 'malformed' ? 'the Authorization header is not a bearer token or basic credentials' : 'the credentials are not valid');
      return true;
    }
    if (!isJson(req.headers['content-type'])) {
      refuse(req, res, 415, 'send the notification as Content-Type: application/json');
      return true;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    const body = declared > maxBytes ? undefined : await readBody(req, maxBytes);
    if (body === undefined) {
      refuse(req, res, 413, `body exceeds the limit of ${maxBytes} bytes`);
      return true;
    }
    const parsed = parseAlertmanagerBody(body);
    if (!parsed.ok) {
      sendJson(res, 400, { error: `not an Alertmanager webhook payload: ${parsed.error}`, reason: parsed.reason, issues: parsed.issues });
      return true;
    }
    const { events, rejected } = alertsToFaultEvents(parsed.payload, deps.mapping, deps.now?.() ?? new Date());
    const log = deps.logger.child({ receiver: parsed.payload.receiver, groupKey: parsed.payload.groupKey });

    const stores = events.map(async (event): Promise<StoredAlert> => {
      const subject = faultSubjectFor(event);
      const ack = await publishDurably(deps.js, subject, encoder.encode(JSON.stringify(event)), { msgID: event.id, attemptTimeoutMs: timeout, deadlineMs });
      return { eventId: event.id, subject, incidentId: incidentIdFor(event.service, event.target), status: event.status, seq: ack.seq, duplicate: ack.duplicate };
    });
    const dead = rejected.map((r) => {
      const kept = unmappableBytes(parsed.rawAlerts[r.index], body);
      const digest = createHash('sha256').update(kept.data).digest('hex').slice(0, 32);
      const msgId = kept.whole ? `am-unmappable-${digest}-${r.index}` : `am-unmappable-${digest}`;
      const error = kept.whole ? `${r.error} (alert ${r.index} nests too deeply to encode on its own; the whole notification is kept)` : r.error;
      return storeDeadLetter(deps.js, { data: kept.data, originalSubject: `http:${ALERTMANAGER_PATH}` }, 'unmappable_alert', error, msgId, deps.maxPayload ? { maxPayload: deps.maxPayload() } : {});
    });
    const results = await Promise.allSettled(stores);
    const deadResults = await Promise.allSettled(dead);
    const failed = [...results, ...deadResults].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      const first = failed[0]?.reason as Error | undefined;
      log.error('JetStream did not store the notification', { failed: failed.length, error: first });
      sendJson(res, 503, { error: `JetStream did not store ${failed.length} of ${events.length + rejected.length} records: ${first?.message ?? 'unknown error'}; retry` });
      return true;
    }
    const stored = results.map((r) => (r as PromiseFulfilledResult<StoredAlert>).value);
    const duplicates = stored.filter((s) => s.duplicate).length;
    deps.metrics.alerts.inc({ outcome: 'stored' }, stored.length - duplicates);
    deps.metrics.alerts.inc({ outcome: 'duplicate' }, duplicates);
    deps.metrics.alerts.inc({ outcome: 'rejected' }, rejected.length);
    for (const s of stored) log.info('alert stored as fault event', { eventId: s.eventId, incidentId: s.incidentId, status: s.status, duplicate: s.duplicate });
    for (const r of rejected) log.warn('alert could not become a fault event; dead-lettered', { index: r.index, error: r.error });
    const reply: AlertmanagerReply = { stored: stored.length - duplicates, duplicates, events: stored, rejected };
    sendJson(res, 200, reply);
    return true;
  };
}
