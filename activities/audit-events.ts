import { ApplicationFailure } from '@temporalio/common';
import type { NatsConnection } from 'nats';
import { ensureAuditStream, jetStreamAuditSink } from '../audit/audit-stream';
import { redact } from '../audit/build-audit';
import type { LifecycleEvent } from '../schemas/lifecycle-event';

/** What {@link createAuditEventActivities} needs: the worker's NATS connection, absent when NATS was unreachable at start-up. */
export interface AuditEventDeps {
  nats?: NatsConnection;
}

/** The audit activities as workflows see them (`import type` only). */
export interface AuditEventActivities {
  recordAuditEvent(event: LifecycleEvent): Promise<void>;
  /** Several events in order; each is stored once however often the call is retried. */
  recordAuditEvents(events: LifecycleEvent[]): Promise<void>;
}

/** Failure type when the worker has no NATS connection; retrying cannot help. */
export const AUDIT_UNAVAILABLE = 'AuditUnavailable';

/** Message id JetStream de-duplicates on, so a retried publish stores the event once. */
export function auditMessageId(event: Pick<LifecycleEvent, 'incidentId' | 'runId' | 'seq'>): string {
  return `${event.incidentId}/${event.runId}/${event.seq}`;
}

/**
 * Builds `recordAuditEvent`, which stores one lifecycle event on the
 * long-retention audit stream. A publish that fails (NATS down, no stream
 * ack) throws an ordinary error and is retried.
 */
export function createAuditEventActivities(deps: AuditEventDeps): AuditEventActivities {
  let ready: Promise<void> | undefined;
  const streamReady = (nc: NatsConnection): Promise<void> => {
    ready ??= nc.jetstreamManager().then((jsm) => ensureAuditStream(jsm));
    // A failed check is tried again on the next event rather than remembered.
    return ready.catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
  };
  const record = async (events: readonly LifecycleEvent[]): Promise<void> => {
    const nc = deps.nats;
    if (!nc) throw ApplicationFailure.nonRetryable('audit event not recorded: this worker has no NATS connection', AUDIT_UNAVAILABLE);
    await streamReady(nc);
    const sink = jetStreamAuditSink(nc.jetstream());
    // One at a time: the stream keeps the incident's order.
    for (const event of events) await sink.publish(redact(event) as LifecycleEvent, auditMessageId(event));
  };
  return {
    recordAuditEvent: (event) => record([event]),
    recordAuditEvents: (events) => record(events),
  };
}
