import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { probe } from '../activities/adapters/probe';
import { FaultEvent, faultSubjectFor } from '../schemas/fault-event';
import { publishDurably } from '../platform/jetstream-publish';

/**
 * Probe every 250 ms: a crash is seen 0.15 s after it on average. A probe
 * fails only on a stall longer than its timeout, so probing more often mostly
 * costs loopback traffic; the few more stalls it catches, confirmation dismisses.
 * @default 250
 */
export const DEFAULT_PROBE_INTERVAL_MS = 250;
/**
 * A probe that takes longer than this failed. Longer than the interval on
 * purpose: a GC pause or a busy machine must not open incidents. Probes of
 * one instance never overlap; the next starts once this one ends. @default 400
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 400;
/** Failed probes in a row before a fault is published; the engine's confirm step is the quorum. @default 1 */
export const DEFAULT_FALL = 1;
/** Good probes in a row before the fault is reported resolved. @default 2 */
export const DEFAULT_RISE = 2;

/** One instance the prober watches. */
export interface ProbedInstance {
  /** The fault's target: the instance's HAProxy server name. */
  target: string;
  healthUrl: string;
  labels: Record<string, string>;
}

/** Something the prober saw or did, for the scenario's timeline. */
export interface ProberEvent {
  at: number;
  target: string;
  type: 'up' | 'fault_published' | 'resolved_published';
  eventId?: string;
  detail: string;
}

/** Options of startProber. */
export interface ProberOptions {
  nc: NatsConnection;
  service: string;
  instances: readonly ProbedInstance[];
  intervalMs?: number;
  timeoutMs?: number;
  fall?: number;
  rise?: number;
  onEvent?: (event: ProberEvent) => void;
}

/** A running prober. */
export interface Prober {
  readonly events: readonly ProberEvent[];
  /** The prober's verdict on `target`: unknown until first seen up. */
  state(target: string): 'unknown' | 'up' | 'down';
  stop(): Promise<void>;
}

interface Track {
  state: 'unknown' | 'up' | 'down';
  okInRow: number;
  failedInRow: number;
}

/**
 * The demo's monitor: health-checks each instance at a short interval and
 * publishes a fault event to JetStream when one goes from up to down, and a
 * resolved event when it comes back. An instance never seen up (a cold
 * standby) raises nothing.
 */
export function startProber(opts: ProberOptions): Prober {
  const intervalMs = opts.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const fall = opts.fall ?? DEFAULT_FALL;
  const rise = opts.rise ?? DEFAULT_RISE;
  const events: ProberEvent[] = [];
  const tracks = new Map<string, Track>(opts.instances.map((i) => [i.target, { state: 'unknown', okInRow: 0, failedInRow: 0 }]));
  const js = opts.nc.jetstream();
  let stopped = false;

  const record = (event: ProberEvent): void => {
    events.push(event);
    opts.onEvent?.(event);
  };

  const publish = async (instance: ProbedInstance, status: 'firing' | 'resolved', detail: string): Promise<string> => {
    const event = FaultEvent.parse({
      id: `demo-prober-${randomUUID()}`,
      source: 'demo-prober',
      service: opts.service,
      target: instance.target,
      kind: /ECONNREFUSED|refused/i.test(detail) ? 'node_down' : 'health_check_failed',
      severity: 'critical',
      status,
      observedAt: new Date().toISOString(),
      labels: instance.labels,
      annotations: { detail, health_url: instance.healthUrl },
    });
    await publishDurably(js, faultSubjectFor(event), JSON.stringify(event), { msgID: event.id, closed: () => opts.nc.isClosed() });
    return event.id;
  };

  const check = async (instance: ProbedInstance): Promise<void> => {
    const track = tracks.get(instance.target);
    if (!track) return;
    const result = await probe({ kind: 'http', url: instance.healthUrl, expectStatus: 200, timeoutMs });
    if (result.ok) {
      track.okInRow += 1;
      track.failedInRow = 0;
    } else {
      track.failedInRow += 1;
      track.okInRow = 0;
    }
    if (track.state === 'unknown' && result.ok) {
      track.state = 'up';
      record({ at: Date.now(), target: instance.target, type: 'up', detail: result.detail });
    } else if (track.state === 'up' && track.failedInRow >= fall) {
      // The state moves only once the event is stored, so a failed publish is tried again.
      const eventId = await publish(instance, 'firing', result.detail);
      track.state = 'down';
      record({ at: Date.now(), target: instance.target, type: 'fault_published', eventId, detail: result.detail });
    } else if (track.state === 'down' && track.okInRow >= rise) {
      const eventId = await publish(instance, 'resolved', result.detail);
      track.state = 'up';
      record({ at: Date.now(), target: instance.target, type: 'resolved_published', eventId, detail: result.detail });
    }
  };

  const loops = opts.instances.map(async (instance) => {
    while (!stopped) {
      const started = Date.now();
      await check(instance).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  });

  return {
    events,
    state: (target) => tracks.get(target)?.state ?? 'unknown',
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
