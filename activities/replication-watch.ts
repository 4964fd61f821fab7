import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { Counter, Gauge, type Registry } from 'prom-client';
import { lagVerdict, replicationLagSeconds, type FenceState, type LagFaultState } from '../engine/replication-lag';
import type { Logger } from '../observability/logger';
import { publishDurably } from '../platform/jetstream-publish';
import { parseDuration } from '../schemas/duration';
import { FaultEvent, faultSubjectFor } from '../schemas/fault-event';
import { REPLICATION_LAG_KIND, type ReplicationFile, type ReplicationPair } from '../schemas/replication-spec';
import { getServerState } from './adapters/haproxy';
import { copyToReplica } from './adapters/replica-copy';

/** How often lag is judged (and its gauge set), whatever the copy interval. @default 1000 */
export const DEFAULT_LAG_CHECK_MS = 1000;

const MAX_EVENTS = 200;

/** Something the watch did, for logs and tests. */
export interface ReplicationEvent {
  at: number;
  pair: string;
  type: 'copied' | 'copy_failed' | 'fenced' | 'lag_published' | 'caught_up_published';
  lagSeconds?: number;
  eventId?: string;
  error?: string;
}

/** What one look at a pair found. */
export interface LagReading {
  pair: string;
  lagSeconds: number;
  maxLagSeconds: number;
  fence: FenceState;
  lagging: boolean;
}

/** A running replication watch. */
export interface ReplicationWatch {
  events: readonly ReplicationEvent[];
  /** Judges every pair's lag now (the watch also does, every second). */
  check(): Promise<LagReading[]>;
  stop(): Promise<void>;
}

/** Options of startReplicationWatch. */
export interface ReplicationWatchOptions {
  pairs: ReplicationFile;
  nc: NatsConnection;
  registry: Registry;
  logger: Logger;
  rsyncPath?: string;
  /** @default DEFAULT_LAG_CHECK_MS */
  lagCheckMs?: number;
  now?: () => number;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'pair'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'pair'>;
  return new Gauge({ name, help, labelNames: ['pair'], registers: [registry] });
}

/** The replication metrics on `registry` (created once per registry). */
export function replicationMetrics(registry: Registry) {
  const failures = registry.getSingleMetric('runbook_replication_failures_total') as Counter<'pair'> | undefined;
  return {
    lag: gauge(registry, 'runbook_replication_lag_seconds', 'Seconds since the start of the newest successful copy of a replication pair: every source change older than that is in the replica.'),
    maxLag: gauge(registry, 'runbook_replication_max_lag_seconds', 'The lag past which a replication pair raises replication_lag (its max_lag).'),
    lastSuccess: gauge(registry, 'runbook_replication_last_success_timestamp_seconds', 'Unix time at which the newest successful copy of a replication pair started.'),
    fenced: gauge(registry, 'runbook_replication_fenced', "1 while a pair's copies are held back because its source's load-balancer server is out of rotation or down, else 0."),
    lagging: gauge(registry, 'runbook_replication_lagging', '1 while a replication_lag fault of a pair is open, else 0.'),
    failures: failures ?? new Counter({ name: 'runbook_replication_failures_total', help: 'Copies of a replication pair that did not complete.', labelNames: ['pair'], registers: [registry] }),
  };
}

/** Whether copies may run: only while the source's server is in rotation and up. */
async function readFence(pair: ReplicationPair): Promise<FenceState> {
  if (!pair.fence) return 'open';
  try {
    const s = await getServerState(pair.fence.haproxy);
    return s.admin === 'ready' && s.operational === 'up' ? 'open' : 'fenced';
  } catch {
    return 'unknown';
  }
}

/**
 * Keeps each pair's replica following its source: a copy every `interval`
 * (rsync, see adapters/replica-copy.ts) while its fence is open; the lag is
 * a gauge, and when it passes `max_lag` a `replication_lag` fault is
 * published to the FAULTS stream like any monitor's (a runbook handles it),
 * then a resolved one once a copy catches up. Lag is judged every second
 * apart from the copies, so a hung copy still raises the fault.
 */
export function startReplicationWatch(opts: ReplicationWatchOptions): ReplicationWatch {
  const metrics = replicationMetrics(opts.registry);
  const now = opts.now ?? Date.now;
  const js = opts.nc.jetstream();
  const startedAt = now();
  const names = Object.keys(opts.pairs);
  const lastSuccess = new Map<string, number>();
  const fence = new Map<string, FenceState>();
  const faultState = new Map<string, LagFaultState>();
  const events: ReplicationEvent[] = [];
  const failing = new Set<string>();
  // The newest events only: a watch runs for the life of the worker.
  const record = (event: ReplicationEvent): void => {
    events.push(event);
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  };
  let stopped = false;
  const wakers = new Set<() => void>();
  const sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const done = (): void => {
        wakers.delete(done);
        resolve();
      };
      wakers.add(done);
      setTimeout(done, ms).unref();
    });

  const pairOf = (name: string): ReplicationPair => {
    const pair = opts.pairs[name];
    if (!pair) throw new Error(`no replication pair ${name}`);
    return pair;
  };

  const publish = async (name: string, status: 'firing' | 'resolved', lagSeconds: number): Promise<string> => {
    const pair = pairOf(name);
    const last = lastSuccess.get(name);
    const event = FaultEvent.parse({
      id: `replication-${randomUUID()}`,
      source: 'replication',
      service: pair.service,
      target: pair.target,
      kind: REPLICATION_LAG_KIND,
      severity: 'warning',
      status,
      observedAt: new Date(now()).toISOString(),
      labels: { ...pair.labels, pair: name },
      annotations: {
        detail: status === 'firing' ? `replica ${lagSeconds.toFixed(1)}s behind its source, more than ${pair.max_lag}` : `replica caught up: ${lagSeconds.toFixed(1)}s behind`,
        lag_seconds: lagSeconds.toFixed(1),
        source_path: pair.source,
        replica_path: pair.replica,
        ...(last === undefined ? {} : { last_success: new Date(last).toISOString() }),
      },
    });
    await publishDurably(js, faultSubjectFor(event), JSON.stringify(event), { msgID: event.id, closed: () => opts.nc.isClosed() });
    return event.id;
  };

  const judge = async (name: string): Promise<LagReading> => {
    const pair = pairOf(name);
    const lastAt = lastSuccess.get(name);
    const lagSeconds = replicationLagSeconds({ watchStartedAt: startedAt, ...(lastAt === undefined ? {} : { lastSuccessStartedAt: lastAt }) }, now());
    const maxLagSeconds = parseDuration(pair.max_lag) / 1000;
    const fenceState = fence.get(name) ?? 'open';
    const state = faultState.get(name) ?? 'ok';
    metrics.lag.set({ pair: name }, lagSeconds);
    metrics.maxLag.set({ pair: name }, maxLagSeconds);
    metrics.fenced.set({ pair: name }, fenceState === 'fenced' ? 1 : 0);
    const verdict = lagVerdict({ lagSeconds, maxLagSeconds, fence: fenceState, state });
    // The state moves only once the event is stored, so a failed publish is tried again next time.
    if (verdict === 'fire') {
      const eventId = await publish(name, 'firing', lagSeconds);
      faultState.set(name, 'lagging');
      record({ at: now(), pair: name, type: 'lag_published', lagSeconds, eventId });
      opts.logger.warn('replica behind; fault published', { pair: name, lagSeconds, maxLag: pair.max_lag, eventId });
    } else if (verdict === 'resolve') {
      const eventId = await publish(name, 'resolved', lagSeconds);
      faultState.set(name, 'ok');
      record({ at: now(), pair: name, type: 'caught_up_published', lagSeconds, eventId });
      opts.logger.info('replica caught up; resolved published', { pair: name, lagSeconds, eventId });
    }
    const lagging = faultState.get(name) === 'lagging';
    metrics.lagging.set({ pair: name }, lagging ? 1 : 0);
    return { pair: name, lagSeconds, maxLagSeconds, fence: fenceState, lagging };
  };

  const judgeAll = async (): Promise<LagReading[]> => {
    const out: LagReading[] = [];
    for (const name of names) {
      const reading = await judge(name).catch((err: unknown) => {
        opts.logger.warn('replication lag check failed', { pair: name, error: err });
        return undefined;
      });
      if (reading) out.push(reading);
    }
    return out;
  };
  // One judgement at a time, so the loop and a caller's check() never publish the same change twice.
  let last: Promise<unknown> = Promise.resolve();
  const check = (): Promise<LagReading[]> => {
    const next = last.then(judgeAll);
    last = next.catch(() => undefined);
    return next;
  };

  const copyOnce = async (name: string): Promise<void> => {
    const pair = pairOf(name);
    const state = await readFence(pair);
    const was = fence.get(name);
    // A lifted fence counts from the end of the first copy after it, so catching up is not judged as lag.
    if (state !== 'open' || was === undefined) fence.set(name, state);
    if (state !== 'open') {
      if (was !== state) {
        record({ at: now(), pair: name, type: 'fenced' });
        opts.logger.warn(state === 'fenced' ? 'source out of rotation or down; replication paused' : 'fence state unreadable; replication held back', { pair: name });
      }
      return;
    }
    const started = now();
    try {
      await copy(name, pair, started);
    } finally {
      fence.set(name, 'open');
    }
  };

  const copy = async (name: string, pair: ReplicationPair, started: number): Promise<void> => {
    try {
      // A pass may take up to the lag bound; past it the fault is raised anyway.
      const r = await copyToReplica({ source: pair.source, replica: pair.replica, checksum: pair.checksum, timeoutMs: parseDuration(pair.max_lag), ...(opts.rsyncPath ? { rsyncPath: opts.rsyncPath } : {}) });
      lastSuccess.set(name, started);
      metrics.lastSuccess.set({ pair: name }, started / 1000);
      if (failing.delete(name)) opts.logger.info('replication copies complete again', { pair: name });
      if (r.filesTransferred > 0 || r.deletedFiles > 0) record({ at: now(), pair: name, type: 'copied' });
    } catch (err) {
      metrics.failures.inc({ pair: name });
      const message = err instanceof Error ? err.message : String(err);
      // Recorded and logged when copies start failing, not on every pass after.
      if (!failing.has(name)) {
        failing.add(name);
        record({ at: now(), pair: name, type: 'copy_failed', error: message });
        opts.logger.warn('replication copy failed', { pair: name, error: message });
      }
    }
  };

  const copiers = names.map(async (name) => {
    const interval = parseDuration(pairOf(name).interval);
    while (!stopped) {
      await copyOnce(name);
      if (!stopped) await sleep(interval);
    }
  });
  const judging = (async () => {
    while (!stopped) {
      await check();
      if (!stopped) await sleep(opts.lagCheckMs ?? DEFAULT_LAG_CHECK_MS);
    }
  })();

  return {
    events,
    check,
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all([...copiers, judging]);
    },
  };
}
