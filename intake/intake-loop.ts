import type { ConsumerMessages, JetStreamClient, JsMsg } from 'nats';
import { selectRunbook } from '../engine/routing';
import type { LoadedRunbook } from '../engine/load-runbook';
import type { Logger } from '../observability/logger';
import type { FaultEvent } from '../schemas/fault-event';
import { incidentIdFor, type IncidentId } from '../schemas/identifiers';
import { parseFaultEvent, type ParseResult } from '../schemas/parse-fault-event';
import type { RunbookSnapshot } from '../schemas/incident-input';
import { ATTEMPTS_EXHAUSTED, DEFAULT_MAX_PAYLOAD, publishDeadLetter, publishUnhandled } from './dead-letter';
import { DEFAULT_NAK_BACKOFF, isFinalDelivery, nakDelayMs, type NakBackoff } from './delivery-attempts';
import type { Handoff, HandoffResult } from './handoff';
import { InFlight } from './in-flight';
import { KeyedQueue } from './keyed-queue';
import type { EventOutcome, IntakeMetrics } from './metrics';
import { RecentIds } from './recent-ids';
import { DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER } from './streams';
import { epochNowMs } from '../platform/epoch-clock';

/** Retry policy towards Temporal within one delivery, before the message is given back to JetStream. */
export interface RetryPolicy {
  /** Attempts within one delivery. @default 2 */
  attempts: number;
  /** Pause before the second attempt, doubling after. @default 500 ms */
  initialMs: number;
}

/** @default see {@link RetryPolicy} */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 2, initialMs: 500 };

/**
 * Awaited after Temporal accepted an event and before its message is acked.
 * Only a fault-injection hook for crash tests; production leaves it unset.
 */
export type BeforeAck = (event: FaultEvent, incidentId: IncidentId) => Promise<void>;

/** What the loop needs. */
export interface IntakeLoopDeps {
  js: JetStreamClient;
  handoff: Pick<Handoff, 'deliverAll' | 'deliverRedelivered'>;
  runbooks: () => readonly LoadedRunbook[];
  metrics: IntakeMetrics;
  logger: Logger;
  dryRun: boolean;
  /** Most handoffs to Temporal at once. */
  concurrency: number;
  retry?: RetryPolicy;
  /** Delays of the naks that give a message back. @default {@link DEFAULT_NAK_BACKOFF} */
  nak?: NakBackoff;
  /**
   * The consumer's `max_deliver` as the server has it; on that delivery a
   * failure is dead-lettered, not nacked. @default {@link DEFAULT_MAX_DELIVER}
   */
  maxDeliver?: () => number;
  /** The server's `max_payload`, which bounds a dead letter. @default {@link DEFAULT_MAX_PAYLOAD} */
  maxPayload?: () => number;
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

/** A delivered message with its parse result. */
interface Delivered {
  msg: JsMsg;
  parsed: ParseResult;
  /**
   * Delivered before, as far as this process can tell: flagged by JetStream,
   * or older in the stream than a message this process already received.
   * A consumer leader lost on a cluster can resend acked messages without
   * the flag (its delivery state went with it); they come back out of order.
   */
  again: boolean;
  /** When this process received it, epoch ms. */
  receivedAt: number;
}

/** Most events of one target handed to Temporal in one signal. */
export const MAX_BATCH_EVENTS = 100;
/** Most bytes of events in one signal, well under Temporal's payload limit. */
export const MAX_BATCH_BYTES = 512 * 1024;

/**
 * parse → validate → route → hand to Temporal → ack. A message is acked only
 * after it was safely handed on (to Temporal, or stored in the dead-letter or
 * unhandled stream); otherwise it is nacked with a delay and comes back,
 * until its last allowed delivery, when it is dead-lettered as
 * `delivery_attempts_exhausted` and then acked.
 *
 * Messages of one target are processed one after another. While a target's
 * hand-off is in flight, its next messages gather into one batch that is
 * handed over as a single signal, so an alert storm costs Temporal one call
 * per target per round trip rather than one per event. When a message has to
 * be nacked, the ones queued behind it are nacked too rather than handed on
 * ahead of it, so a target's events keep their order across an outage.
 */
export class IntakeLoop {
  private readonly queue: KeyedQueue;
  private readonly retry: RetryPolicy;
  private readonly nakBackoff: NakBackoff;
  private readonly maxDeliver: () => number;
  private readonly maxPayload: () => number;
  private readonly inFlight = new InFlight(Math.floor(DEFAULT_ACK_WAIT_MS / 3));
  private readonly recent = new RecentIds();
  /** Highest stream sequence received; fresh messages arrive in stream order. */
  private newestSeq = 0;
  /** Targets whose earlier message was nacked while later ones are still queued. */
  private readonly blocked = new Set<string>();
  /** Per target, the batch queued and not started yet, which new messages join. */
  private readonly open = new Map<string, { items: Delivered[]; bytes: number }>();

  constructor(private readonly deps: IntakeLoopDeps) {
    this.queue = new KeyedQueue(deps.concurrency);
    this.retry = deps.retry ?? DEFAULT_RETRY;
    this.nakBackoff = deps.nak ?? DEFAULT_NAK_BACKOFF;
    this.maxDeliver = deps.maxDeliver ?? ((): number => DEFAULT_MAX_DELIVER);
    this.maxPayload = deps.maxPayload ?? ((): number => DEFAULT_MAX_PAYLOAD);
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
        const receivedAt = epochNowMs();
        this.inFlight.add(msg);
        const again = msg.info.redelivered || msg.seq < this.newestSeq;
        this.newestSeq = Math.max(this.newestSeq, msg.seq);
        if (!again) this.deps.metrics.deliveryLagSeconds.observe(Math.max(0, receivedAt - storedAtMs(msg)) / 1_000);
        this.enqueue({ msg, parsed: parseFaultEvent(msg.data), again, receivedAt });
      }
      await this.queue.onIdle();
    } finally {
      this.inFlight.stop();
    }
  }

  private enqueue(item: Delivered): void {
    const key = orderingKey(item.parsed, item.msg.seq);
    const size = item.msg.data.length;
    const batch = this.open.get(key);
    if (batch && batch.items.length < MAX_BATCH_EVENTS && batch.bytes + size <= MAX_BATCH_BYTES) {
      batch.items.push(item);
      batch.bytes += size;
      return;
    }
    const fresh = { items: [item], bytes: size };
    this.open.set(key, fresh);
    this.queue.push(key, () => {
      if (this.open.get(key) === fresh) this.open.delete(key);
      return this.processBatch(fresh.items, key);
    });
  }

  private count(outcome: EventOutcome, n = 1): void {
    this.deps.metrics.events.inc({ outcome }, n);
  }

  /** Handles messages of one ordering key, in order; never throws. */
  private async processBatch(items: readonly Delivered[], key: string): Promise<void> {
    const rest = [...items];
    try {
      while (rest.length > 0) {
        const handled = await this.processNext(rest, key);
        rest.splice(0, handled);
      }
    } catch (err) {
      // Storing a dead letter or acking failed (NATS away?): give the rest back.
      for (const { msg } of rest) this.nak(msg);
      this.count('retried', rest.length);
      this.deps.logger.error('event processing failed; will be redelivered', { seqs: rest.map((r) => r.msg.seq), error: err });
    } finally {
      for (const { msg } of items) this.inFlight.settle(msg);
      if (this.queue.pendingFor(key) <= 1) this.blocked.delete(key);
    }
  }

  /**
   * Settles the first message of `items`, with the firing events right behind
   * it when they go to the same incident; returns how many were settled.
   */
  private async processNext(items: readonly Delivered[], key: string): Promise<number> {
    const { js, logger } = this.deps;
    const head = items[0] as Delivered;
    const { msg, parsed } = head;
    let log = logger.child({ seq: msg.seq, subject: msg.subject, redelivery: msg.info.redeliveryCount });
    if (!parsed.ok) {
      await publishDeadLetter(js, msg, parsed.reason, parsed.error, { maxPayload: this.maxPayload() });
      this.settle(msg, () => msg.term(`invalid: ${parsed.reason}`));
      this.count('dead_lettered');
      log.warn('event dead-lettered', { reason: parsed.reason, error: parsed.error });
      return 1;
    }
    const event = parsed.event;
    const incidentId = incidentIdFor(event.service, event.target);
    log = log.child({ eventId: event.id, incidentId });
    if (this.blocked.has(key)) {
      const nakMs = await this.giveBack(items, 'an earlier event for this target was still waiting for redelivery', log);
      log.info('an earlier event for this target is waiting for redelivery; nacked to keep order', { nakMs, events: items.length });
      return items.length;
    }
    if (this.recent.has(event.id)) {
      await this.ack(msg);
      this.count('duplicate');
      log.info('event already handed to Temporal by this intake; acked');
      return 1;
    }
    const runbook = event.status === 'firing' ? routeEvent(this.deps.runbooks(), event) : undefined;
    if (event.status === 'firing' && !runbook) {
      await publishUnhandled(js, msg, event.service, event.kind, event.id);
      await this.ack(msg);
      this.count('unhandled');
      log.warn('no runbook handles this fault', { service: event.service, kind: event.kind });
      return 1;
    }
    // A redelivered event goes alone: it may have been absorbed by an incident that has closed since.
    const group = event.status === 'firing' && !head.again ? this.firingRun(items) : [head];
    const events = group.map((g) => (g.parsed as Extract<ParseResult, { ok: true }>).event);
    const snapshot = runbook ? snapshotOf(runbook) : undefined;
    const calledAt = epochNowMs();
    for (const g of group) this.deps.metrics.waitSeconds.observe((calledAt - g.receivedAt) / 1_000);
    // A retry after a failed attempt may follow one the server took: it is checked like a redelivery.
    const handed = await this.withRetry(
      (attempt) => (head.again || attempt > 1 ? this.deps.handoff.deliverRedelivered(events, publishedAt(msg), snapshot, this.deps.dryRun) : this.deps.handoff.deliverAll(events, snapshot, this.deps.dryRun)),
      log,
    );
    if (!handed.ok) {
      this.blocked.add(key);
      const nakMs = await this.giveBack(items, `Temporal did not accept the event: ${errorText(handed.error)}`, log);
      log.warn('Temporal did not accept the event; nacked for redelivery', { nakMs, events: items.length });
      return items.length;
    }
    const result = handed.result;
    this.deps.metrics.handoffSeconds.observe((epochNowMs() - calledAt) / 1_000);
    for (const e of events) this.recent.add(e.id);
    if (result.outcome === 'duplicate') log.info('redelivered event was absorbed by an incident that has closed since; acked', { runId: result.runId });
    else log.info('event handed to Temporal', { outcome: result.outcome, runId: result.runId, runbook: runbook?.runbook.name, ...(events.length > 1 ? { events: events.length } : {}), ...timings(head, calledAt) });
    if (this.deps.beforeAck) for (const e of events) await this.deps.beforeAck(e, incidentId);
    await this.ackAll(group.map((g) => g.msg));
    this.count(result.outcome);
    if (group.length > 1) this.count('coalesced', group.length - 1);
    return group.length;
  }

  /**
   * The firing events at the front of `items` that can share one signal: new
   * to this intake, routed to a runbook, none seen twice. The first is always
   * included.
   */
  private firingRun(items: readonly Delivered[]): Delivered[] {
    const run: Delivered[] = [];
    const ids = new Set<string>();
    for (const item of items) {
      if (!item.parsed.ok || item.parsed.event.status !== 'firing') break;
      const e = item.parsed.event;
      if (run.length > 0 && (item.again || ids.has(e.id) || this.recent.has(e.id) || !routeEvent(this.deps.runbooks(), e))) break;
      ids.add(e.id);
      run.push(item);
    }
    return run;
  }

  /**
   * Gives messages that could not be handed on back to JetStream, except
   * those on their last allowed delivery: they are dead-lettered with
   * `lastError` and acked once stored. Never throws; a dead letter that could
   * not be stored leaves its message nacked (the server's bound still holds).
   * Returns the longest nak delay asked for.
   */
  private async giveBack(items: readonly Delivered[], lastError: string, log: Logger): Promise<number> {
    let nakMs = 0;
    for (const { msg } of items) {
      const deliveries = msg.info.redeliveryCount;
      if (!isFinalDelivery(deliveries, this.maxDeliver())) {
        nakMs = Math.max(nakMs, this.nak(msg));
        this.count('retried');
        continue;
      }
      const error = `gave up after ${deliveries} deliveries; last error: ${lastError}`;
      try {
        await publishDeadLetter(this.deps.js, msg, ATTEMPTS_EXHAUSTED, error, { maxPayload: this.maxPayload() });
        await this.ack(msg);
        this.count('dead_lettered');
        log.warn('event dead-lettered: delivery attempts exhausted', { seq: msg.seq, reason: ATTEMPTS_EXHAUSTED, deliveries, error });
      } catch (err) {
        nakMs = Math.max(nakMs, this.nak(msg));
        this.count('retried');
        log.error('could not dead-letter an event on its last delivery; nacked', { seq: msg.seq, deliveries, error: err });
      }
    }
    return nakMs;
  }

  /** Tries the handoff a few times within this delivery; the last error when Temporal never accepted it. */
  private async withRetry(fn: (attempt: number) => Promise<HandoffResult>, log: Logger): Promise<{ ok: true; result: HandoffResult } | { ok: false; error: unknown }> {
    let delay = this.retry.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, result: await fn(attempt) };
      } catch (err) {
        log.warn('handoff to Temporal failed', { attempt, error: err });
        if (attempt >= this.retry.attempts) return { ok: false, error: err };
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

  /**
   * Acks messages handed on together with one round trip: the server handles
   * the acks of one connection in the order they were sent, so its
   * confirmation of the last one means it has taken those before it too. An
   * ack that is lost anyway brings its message back as a redelivery, which
   * the hand-off checks against the incident before anything is signalled.
   */
  private async ackAll(msgs: readonly JsMsg[]): Promise<void> {
    const last = msgs.at(-1);
    if (!last) return;
    for (const msg of msgs) if (msg !== last) msg.ack();
    await last.ackAck();
    for (const msg of msgs) this.inFlight.settle(msg);
  }

  private settle(msg: JsMsg, how: () => void): void {
    how();
    this.inFlight.settle(msg);
  }

  /** Gives the message back with a delay growing with its redeliveries; returns the delay. */
  private nak(msg: JsMsg): number {
    const ms = nakDelayMs(msg.info.redeliveryCount, this.nakBackoff);
    this.settle(msg, () => msg.nak(ms));
    return ms;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** When JetStream stored the message (its first publication). */
function publishedAt(msg: JsMsg): Date {
  return new Date(Math.floor(storedAtMs(msg)));
}

function storedAtMs(msg: JsMsg): number {
  return msg.info.timestampNanos / 1_000_000;
}


const round2 = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * Where the time of an event's hand-off went, for its log line: JetStream
 * storing it → this process receiving it (`deliveryLagMs`) → the Temporal
 * call (`waitMs`, made at `calledAt`, epoch ms) — so a slow start can be
 * placed against the incident's history.
 */
function timings(head: Delivered, calledAt: number): { deliveryLagMs?: number; waitMs: number; calledAt: number } {
  return { ...(head.again ? {} : { deliveryLagMs: round2(head.receivedAt - storedAtMs(head.msg)) }), waitMs: round2(calledAt - head.receivedAt), calledAt: round2(calledAt) };
}
