import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { selectRunbook } from '../engine/routing';
import type { LoadedRunbook } from '../engine/load-runbook';
import type { Logger } from '../observability/logger';
import type { FaultEvent } from '../schemas/fault-event';
import { incidentIdFor, type IncidentId } from '../schemas/identifiers';
import { parseFaultEvent, type ParseResult } from '../schemas/parse-fault-event';
import type { RunbookSnapshot } from '../workflows/incident-input';
import { publishDeadLetter, publishUnhandled } from './dead-letter';
import type { Handoff, HandoffResult } from './handoff';
import { InFlight } from './in-flight';
import { KeyedQueue } from './keyed-queue';
import type { EventOutcome, IntakeMetrics } from './metrics';
import { RecentIds } from './recent-ids';
import { DEFAULT_ACK_WAIT_MS } from './streams';

/** Retry policy towards Temporal before a message is given back to JetStream. */
export interface RetryPolicy {
  /** Attempts within one delivery. @default 2 */
  attempts: number;
  /** Pause before the second attempt, doubling after. @default 500 ms */
  initialMs: number;
  /** nak delay for redelivery n (0-based) is min(maxNakMs, nakBaseMs * 2^n). @default 1 s */
  nakBaseMs: number;
  /** @default 15 s */
  maxNakMs: number;
}

/** @default see {@link RetryPolicy} */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 2, initialMs: 500, nakBaseMs: 1_000, maxNakMs: 15_000 };

/**
 * Awaited after Temporal accepted an event and before its message is acked.
 * Only a fault-injection hook for crash tests; production leaves it unset.
 */
export type BeforeAck = (event: FaultEvent, incidentId: IncidentId) => Promise<void>;

/** What the loop needs. */
export interface IntakeLoopDeps {
  js: JetStreamClient;
  handoff: Pick<Handoff, 'deliver'>;
  runbooks: () => readonly LoadedRunbook[];
  metrics: IntakeMetrics;
  logger: Logger;
  dryRun: boolean;
  /** Most handoffs to Temporal at once. */
  concurrency: number;
  retry?: RetryPolicy;
  beforeAck?: BeforeAck;
}

/** Freezes a loaded runbook into the form an incident carries. */
export function snapshotOf(loaded: LoadedRunbook): RunbookSnapshot {
  return { name: loaded.runbook.name, version: loaded.runbook.version, hash: loaded.hash, definition: loaded.runbook };
}

/** The runbook routing chooses for a fault among those loaded. */
export function routeEvent(runbooks: readonly LoadedRunbook[], event: FaultEvent): LoadedRunbook | undefined {
  const chosen = selectRunbook(
    runbooks.map((loaded) => ({ name: loaded.runbook.name, match: loaded.runbook.match, loaded })),
    event,
  );
  return chosen?.loaded;
}

/** The ordering key: one per target, or one per message for an invalid body. */
export function orderingKey(parsed: ParseResult, seq: number): string {
  return parsed.ok ? `${parsed.event.service}/${parsed.event.target}` : `invalid/${seq}`;
}

/**
 * parse → validate → route → hand to Temporal → ack. A message is acked only
 * after it was safely handed on (to Temporal, or stored in the dead-letter or
 * unhandled stream); otherwise it is nacked with a delay and comes back.
 *
 * Messages of one target are processed one after another. When one of them
 * has to be nacked, the ones queued behind it are nacked too rather than
 * handed on ahead of it, so a target's events keep their order across an
 * outage.
 */
export class IntakeLoop {
  private readonly queue: KeyedQueue;
  private readonly retry: RetryPolicy;
  private readonly inFlight = new InFlight(Math.floor(DEFAULT_ACK_WAIT_MS / 3));
  private readonly recent = new RecentIds();
  /** Targets whose earlier message was nacked while later ones are still queued. */
  private readonly blocked = new Set<string>();

  constructor(private readonly deps: IntakeLoopDeps) {
    this.queue = new KeyedQueue(deps.concurrency);
    this.retry = deps.retry ?? DEFAULT_RETRY;
  }

  /** Messages delivered to this process and not yet settled. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Consumes until the message iterator ends (on stop or error), then drains in-flight work. */
  async run(messages: ConsumerMessages): Promise<void> {
    this.inFlight.start();
    try {
      for await (const msg of messages) {
        this.inFlight.add(msg);
        const parsed = parseFaultEvent(msg.data);
        const key = orderingKey(parsed, msg.seq);
        this.queue.push(key, () => this.process(msg, parsed, key));
      }
      await this.queue.onIdle();
    } finally {
      this.inFlight.stop();
    }
  }

  private count(outcome: EventOutcome): void {
    this.deps.metrics.events.inc({ outcome });
  }

  /** Handles one message; never throws. */
  async process(msg: JsMsg, parsed: ParseResult = parseFaultEvent(msg.data), key = orderingKey(parsed, msg.seq)): Promise<void> {
    const { js, logger } = this.deps;
    let log = logger.child({ seq: msg.seq, subject: msg.subject, redelivery: msg.info.redeliveryCount });
    try {
      if (!parsed.ok) {
        await publishDeadLetter(js, msg, parsed.reason, parsed.error);
        this.settle(msg, () => msg.term(`invalid: ${parsed.reason}`));
        this.count('dead_lettered');
        log.warn('event dead-lettered', { reason: parsed.reason, error: parsed.error });
        return;
      }
      const event = parsed.event;
      const incidentId = incidentIdFor(event.service, event.target);
      log = log.child({ eventId: event.id, incidentId });
      if (this.blocked.has(key)) {
        const nakMs = this.nak(msg);
        this.count('retried');
        log.info('an earlier event for this target is waiting for redelivery; nacked to keep order', { nakMs });
        return;
      }
      if (this.recent.has(event.id)) {
        await this.ack(msg);
        this.count('duplicate');
        log.info('event already handed to Temporal by this intake; acked');
        return;
      }
      const runbook = event.status === 'firing' ? routeEvent(this.deps.runbooks(), event) : undefined;
      if (event.status === 'firing' && !runbook) {
        await publishUnhandled(js, msg, event.service, event.kind, event.id);
        await this.ack(msg);
        this.count('unhandled');
        log.warn('no runbook handles this fault', { service: event.service, kind: event.kind });
        return;
      }
      const started = performance.now();
      const result = await this.withRetry(() => this.deps.handoff.deliver(event, runbook ? snapshotOf(runbook) : undefined, this.deps.dryRun), log);
      if (!result) {
        this.blocked.add(key);
        const nakMs = this.nak(msg);
        this.count('retried');
        log.warn('Temporal did not accept the event; nacked for redelivery', { nakMs });
        return;
      }
      this.deps.metrics.handoffSeconds.observe((performance.now() - started) / 1_000);
      this.recent.add(event.id);
      log.info('event handed to Temporal', { outcome: result.outcome, runId: result.runId, runbook: runbook?.runbook.name });
      if (this.deps.beforeAck) await this.deps.beforeAck(event, incidentId);
      await this.ack(msg);
      this.count(result.outcome);
    } catch (err) {
      // Storing a dead letter or acking failed (NATS away?): give the message back.
      this.nak(msg);
      this.count('retried');
      log.error('event processing failed; will be redelivered', { error: err });
    } finally {
      this.inFlight.settle(msg);
      if (this.queue.pendingFor(key) <= 1) this.blocked.delete(key);
    }
  }

  /** Tries the handoff a few times within this delivery; undefined when Temporal never accepted it. */
  private async withRetry(fn: () => Promise<HandoffResult>, log: Logger): Promise<HandoffResult | undefined> {
    let delay = this.retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        log.warn('handoff to Temporal failed', { attempt, error: err });
        if (attempt >= this.retry.attempts) return undefined;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  private async ack(msg: JsMsg): Promise<void> {
    // Double ack: the message counts as handled only once the server confirmed the ack.
    await msg.ackAck();
    this.inFlight.settle(msg);
  }

  private settle(msg: JsMsg, how: () => void): void {
    how();
    this.inFlight.settle(msg);
  }

  /** Gives the message back with a delay growing with its redeliveries; returns the delay. */
  private nak(msg: JsMsg): number {
    const n = Math.max(0, msg.info.redeliveryCount - 1);
    const ms = Math.min(this.retry.maxNakMs, this.retry.nakBaseMs * 2 ** Math.min(n, 10));
    this.settle(msg, () => msg.nak(ms));
    return ms;
  }
}
