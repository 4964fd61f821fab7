import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { Gauge, type Registry } from 'prom-client';
import { ageSeconds } from '../engine/retention';
import type { Logger } from '../observability/logger';
import { publishDurably } from '../platform/jetstream-publish';
import { BACKUP_STALE_KIND, type BackupsFile } from '../schemas/backup-spec';
import { parseDuration } from '../schemas/duration';
import { FaultEvent, faultSubjectFor } from '../schemas/fault-event';
import { listSnapshots, newestVerified } from './adapters/snapshots';


/** What one look at a repository found. */
export interface FreshnessReading {
  name: string;
  /** Seconds since the newest verified snapshot was taken; Infinity when there is none. */
  ageSeconds: number;
  maxAgeSeconds: number;
  stale: boolean;
  newest?: string;
  snapshots: number;
}

/** Something the watch did, for logs and tests. */
export interface FreshnessEvent {
  at: number;
  name: string;
  type: 'stale_published' | 'fresh_published';
  eventId: string;
  ageSeconds: number;
}

/** A running freshness watch. */
export interface FreshnessWatch {
  events: readonly FreshnessEvent[];
  /** Looks at every repository now (the loop also does, every interval). */
  check(): Promise<FreshnessReading[]>;
  stop(): Promise<void>;
}

/** Options of startBackupFreshnessWatch. */
export interface FreshnessWatchOptions {
  repositories: BackupsFile;
  nc: NatsConnection;
  registry: Registry;
  logger: Logger;
  /** How often every repository is looked at. @default the shortest `check_every` of the repositories */
  intervalMs?: number;
  now?: () => number;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'repository'> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'repository'>;
  return new Gauge({ name, help, labelNames: ['repository'], registers: [registry] });
}

/** The backup metrics on `registry` (created once per registry). */
export function backupMetrics(registry: Registry) {
  return {
    age: gauge(registry, 'runbook_backup_age_seconds', 'Age of the newest verified snapshot of a backup repository, in seconds (+Inf when there is none).'),
    maxAge: gauge(registry, 'runbook_backup_max_age_seconds', 'The age past which a backup repository is stale (its backups file max_age).'),
    stale: gauge(registry, 'runbook_backup_stale', '1 while a backup repository is stale, else 0.'),
    snapshots: gauge(registry, 'runbook_backup_snapshots', 'Complete snapshots in a backup repository.'),
  };
}

/**
 * Watches backup freshness: the age of each repository's newest verified
 * snapshot is a gauge, and when it passes the repository's `max_age` a
 * `backup_stale` fault is published to the FAULTS stream like any monitor's
 * (a runbook handles it), then a resolved one once a fresh snapshot is
 * verified. A repository is stale until seen fresh, so a watch started on an
 * old or empty repository raises the fault at once.
 */
export function startBackupFreshnessWatch(opts: FreshnessWatchOptions): FreshnessWatch {
  const metrics = backupMetrics(opts.registry);
  const now = opts.now ?? Date.now;
  const js = opts.nc.jetstream();
  const state = new Map<string, 'unknown' | 'fresh' | 'stale'>();
  const events: FreshnessEvent[] = [];
  let stopped = false;

  const publish = async (name: string, status: 'firing' | 'resolved', reading: FreshnessReading): Promise<string> => {
    const watched = opts.repositories[name];
    if (!watched) throw new Error(`no repository ${name}`);
    const age = Number.isFinite(reading.ageSeconds) ? `${reading.ageSeconds}s` : 'no verified snapshot';
    const event = FaultEvent.parse({
      id: `backup-freshness-${randomUUID()}`,
      source: 'backup-freshness',
      service: watched.service,
      target: watched.target,
      kind: BACKUP_STALE_KIND,
      severity: 'warning',
      status,
      observedAt: new Date(now()).toISOString(),
      labels: { ...watched.labels, repository: name },
      annotations: {
        detail: status === 'firing' ? `newest verified snapshot: ${age} old, more than ${watched.max_age}` : `newest verified snapshot ${reading.newest ?? ''} is ${age} old`,
        repository_path: watched.repository,
        ...(reading.newest ? { newest_snapshot: reading.newest } : {}),
      },
    });
    await publishDurably(js, faultSubjectFor(event), JSON.stringify(event), { msgID: event.id, closed: () => opts.nc.isClosed() });
    return event.id;
  };

  const checkOne = async (name: string): Promise<FreshnessReading | undefined> => {
    const watched = opts.repositories[name];
    if (!watched) return undefined;
    const snapshots = await listSnapshots(watched.repository);
    const newest = newestVerified(snapshots);
    const maxAgeSeconds = parseDuration(watched.max_age) / 1000;
    const age = newest ? ageSeconds(newest.createdAt, now()) : Number.POSITIVE_INFINITY;
    const reading: FreshnessReading = { name, ageSeconds: age, maxAgeSeconds, stale: age > maxAgeSeconds, snapshots: snapshots.length, ...(newest ? { newest: newest.id } : {}) };
    metrics.age.set({ repository: name }, age);
    metrics.maxAge.set({ repository: name }, maxAgeSeconds);
    metrics.stale.set({ repository: name }, reading.stale ? 1 : 0);
    metrics.snapshots.set({ repository: name }, snapshots.length);
    const was = state.get(name) ?? 'unknown';
    // The state moves only once the event is stored, so a failed publish is tried again next time.
    if (reading.stale && was !== 'stale') {
      const eventId = await publish(name, 'firing', reading);
      state.set(name, 'stale');
      events.push({ at: now(), name, type: 'stale_published', eventId, ageSeconds: age });
      opts.logger.warn('backup stale; fault published', { repository: name, ageSeconds: age, maxAge: watched.max_age, eventId });
    } else if (!reading.stale && was === 'stale') {
      const eventId = await publish(name, 'resolved', reading);
      state.set(name, 'fresh');
      events.push({ at: now(), name, type: 'fresh_published', eventId, ageSeconds: age });
      opts.logger.info('backup fresh again; resolved published', { repository: name, ageSeconds: age, eventId });
    } else if (!reading.stale) {
      state.set(name, 'fresh');
    }
    return reading;
  };

  const checkAll = async (): Promise<FreshnessReading[]> => {
    const out: FreshnessReading[] = [];
    for (const name of Object.keys(opts.repositories)) {
      const reading = await checkOne(name).catch((err: unknown) => {
        opts.logger.warn('backup freshness check failed', { repository: name, error: err });
        return undefined;
      });
      if (reading) out.push(reading);
    }
    return out;
  };
  // One look at a time, so the loop and a caller's check() never publish the same change twice.
  let last: Promise<unknown> = Promise.resolve();
  const check = (): Promise<FreshnessReading[]> => {
    const next = last.then(checkAll);
    last = next.catch(() => undefined);
    return next;
  };

  const intervalMs = opts.intervalMs ?? Math.min(...Object.values(opts.repositories).map((r) => parseDuration(r.check_every)));
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      await check();
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
    }
  })();

  return {
    events,
    check,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
