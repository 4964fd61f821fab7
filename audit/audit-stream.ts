import { createHash } from 'node:crypto';
import { DeliverPolicy, nanos, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { publishDurably } from '../platform/jetstream-publish';
import { LIFECYCLE_EVENTS } from '../schemas/lifecycle-event';

/** Long-retention stream of incident lifecycle and decision events; outlives Temporal's history retention. */
export const AUDIT_STREAM = 'RUNBOOK_AUDIT';
/** Subjects are `audit.<service>.<target>.<event>`. */
export const AUDIT_SUBJECT_PREFIX = 'audit';
/** How long audit events are kept. @default 400 days */
export const DEFAULT_AUDIT_RETENTION_DAYS = 400;

/** One audit event as stored. */
export interface AuditEvent {
  /** e.g. `decision.accepted`, `decision.refused`, `decision.queued`. */
  event: string;
  incidentId: string;
  at: string;
  [field: string]: unknown;
}

/** Creates the audit stream when it is missing (file storage, limits retention by age, `replicas` copies). */
export async function ensureAuditStream(jsm: JetStreamManager, retentionDays = DEFAULT_AUDIT_RETENTION_DAYS, replicas = 1): Promise<void> {
  const exists = await jsm.streams.info(AUDIT_STREAM).then(() => true, () => false);
  if (exists) return;
  await jsm.streams.add({
    name: AUDIT_STREAM,
    subjects: [`${AUDIT_SUBJECT_PREFIX}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(retentionDays * 86_400_000),
    duplicate_window: nanos(120_000),
    num_replicas: replicas,
  });
}

/** Subject of an incident's audit events: `incident/<service>/<target>` → `audit.<service>.<target>.<event>`. */
export function auditSubject(incidentId: string, event: string): string {
  const [, service = '_', target = '_'] = incidentId.split('/');
  const token = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
  return [AUDIT_SUBJECT_PREFIX, token(service), token(target), ...event.split('.').map(token)].join('.');
}

/** Writes audit events; `publish` resolves once JetStream has stored the event (retried through a node loss, bounded). */
export interface AuditSink {
  publish(event: AuditEvent, msgId?: string): Promise<void>;
}

/** An audit sink on a JetStream client. */
export function jetStreamAuditSink(js: JetStreamClient): AuditSink {
  return {
    async publish(event, msgId) {
      const subject = auditSubject(event.incidentId, event.event);
      const data = JSON.stringify(event);
      // Without an id of the caller's, the event's own digest: the same for every retry of this event, so it is stored once.
      await publishDurably(js, subject, data, { msgID: msgId ?? `audit-${createHash('sha256').update(subject).update('\n').update(data).digest('hex').slice(0, 32)}` });
    },
  };
}

/** Every audit event stored for one incident, oldest first. */
export async function readAuditEvents(nc: NatsConnection, incidentId: string): Promise<AuditEvent[]> {
  const jsm = await nc.jetstreamManager();
  const subject = `${auditSubject(incidentId, 'x').slice(0, -2)}.>`;
  const out: AuditEvent[] = [];
  const info = await jsm.streams.info(AUDIT_STREAM).catch(() => undefined);
  if (!info || info.state.messages === 0) return out;
  const consumer = await nc.jetstream().consumers.get(AUDIT_STREAM, { filterSubjects: [subject] });
  const pending = (await consumer.info()).num_pending;
  if (pending === 0) return out;
  const messages = await consumer.fetch({ max_messages: pending, expires: 2_000 });
  for await (const m of messages) {
    out.push(m.json<AuditEvent>());
    if (out.length >= pending) break;
  }
  return out;
}

/** Most events {@link readAuditWindow} reads by default. @default 200000 */
export const DEFAULT_AUDIT_WINDOW_MAX_EVENTS = 200_000;

/** What {@link readAuditWindow} read. */
export interface AuditWindow {
  events: AuditEvent[];
  /** More lifecycle events were stored in the window than `maxEvents`; the newest were left unread. */
  truncated: boolean;
}

/**
 * The lifecycle events (or the `events` named) stored since `since` (of one
 * service, or all), oldest first, through an ordered consumer; bounded by
 * `maxEvents`. Decision attempts the API records are not read.
 */
export async function readAuditWindow(nc: NatsConnection, opts: { since: Date; service?: string; maxEvents?: number; events?: readonly string[] }): Promise<AuditWindow> {
  const service = opts.service === undefined ? '*' : auditSubject(`incident/${opts.service}/_`, 'x').split('.')[1] ?? '*';
  const filterSubjects = (opts.events ?? LIFECYCLE_EVENTS).map((e) => [AUDIT_SUBJECT_PREFIX, service, '*', e].join('.'));
  return readAuditSubjects(nc, filterSubjects, opts.since, opts.maxEvents ?? DEFAULT_AUDIT_WINDOW_MAX_EVENTS);
}

/** The events on `filterSubjects` stored since `since` (or ever), oldest first, through an ordered consumer; at most `max`. */
export async function readAuditSubjects(nc: NatsConnection, filterSubjects: string[], since: Date | undefined, max: number): Promise<AuditWindow> {
  const info = await (await nc.jetstreamManager()).streams.info(AUDIT_STREAM).catch(() => undefined);
  if (!info || info.state.messages === 0) return { events: [], truncated: false };
  const start = since ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.toISOString() } : {};
  const consumer = await nc.jetstream().consumers.get(AUDIT_STREAM, { filterSubjects, ...start });
  const pending = (await consumer.info()).num_pending;
  const wanted = Math.min(pending, max);
  const events: AuditEvent[] = [];
  while (events.length < wanted) {
    const before = events.length;
    const batch = await consumer.fetch({ max_messages: Math.min(1_000, wanted - events.length), expires: 2_000 });
    for await (const m of batch) {
      events.push(m.json<AuditEvent>());
      if (events.length >= wanted) break;
    }
    if (events.length === before) break;
  }
  return { events, truncated: pending > max };
}
