import type { NatsConnection } from 'nats';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger';
import type { ObjectivesFile } from '../schemas/service-objectives';
import { readAuditWindow } from './audit-stream';
import { availabilityReport, incidentSpans, type AvailabilityReport } from './availability';
import { AVAILABILITY_EVENTS, drillOutcomes } from './drill-reports';

/** The period the gauges cover, ending at each refresh. @default 30 days */
export const DEFAULT_AVAILABILITY_WINDOW_MS = 30 * 86_400_000;
/** Most audit events one refresh reads. @default 50000 */
export const DEFAULT_AVAILABILITY_MAX_EVENTS = 50_000;

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
}

/** The availability gauges on `registry` (created once per registry). */
export function availabilityMetrics(registry: Registry) {
  return {
    availability: gauge(registry, 'runbook_availability_ratio', 'Availability over the report window: 1 - downtime / window', ['service']),
    downtime: gauge(registry, 'runbook_downtime_seconds', 'Downtime within the report window (opening to traffic restored)', ['service']),
    incidents: gauge(registry, 'runbook_report_incidents', 'Incident runs opened in the report window, by closing status (open while running)', ['service', 'outcome']),
    mttr: gauge(registry, 'runbook_mttr_seconds', 'Time to repair (opening to traffic restored), nearest-rank quantiles', ['service', 'quantile']),
    mtbf: gauge(registry, 'runbook_mtbf_seconds', 'Mean gap between the openings of consecutive failures of one target', ['service']),
    healedAlone: gauge(registry, 'runbook_healed_without_human_ratio', 'Share of healed incidents no human decision was needed for', ['service']),
    approvalWait: gauge(registry, 'runbook_approval_wait_seconds', 'Time from an approval request to the human decision, nearest-rank quantiles', ['service', 'quantile']),
    drills: gauge(registry, 'runbook_drills', 'Drills run and passed in the report window', ['service', 'result']),
    objective: gauge(registry, 'runbook_objective_met', '1 when the objective is met, 0 when missed (absent without data)', ['service', 'objective']),
    refreshed: gauge(registry, 'runbook_availability_refreshed_timestamp_seconds', 'When the availability gauges were last computed', []),
    truncated: gauge(registry, 'runbook_availability_truncated', '1 when the last refresh read fewer audit events than the window holds', []),
  };
}

/** Sets the gauges from a report, dropping series of services no longer in it. */
export function setAvailabilityGauges(registry: Registry, report: AvailabilityReport, truncated: boolean, at: number): void {
  const m = availabilityMetrics(registry);
  for (const g of Object.values(m)) g.reset();
  const seconds = (ms: number | null): number | undefined => (ms === null ? undefined : ms / 1000);
  const set = (g: Gauge, labels: Record<string, string>, v: number | null | undefined): void => {
    if (v !== null && v !== undefined) g.set(labels, v);
  };
  for (const s of report.services) {
    const service = s.service;
    set(m.availability, { service }, s.availability);
    set(m.downtime, { service }, s.downtimeMs / 1000);
    for (const [outcome, n] of Object.entries(s.byOutcome)) set(m.incidents, { service, outcome }, n);
    set(m.mttr, { service, quantile: '0.5' }, seconds(s.mttr.p50Ms));
    set(m.mttr, { service, quantile: '0.9' }, seconds(s.mttr.p90Ms));
    set(m.mtbf, { service }, seconds(s.mtbfMs));
    set(m.healedAlone, { service }, s.healedWithoutHumanShare);
    set(m.approvalWait, { service, quantile: '0.5' }, seconds(s.approvalWait.p50Ms));
    set(m.approvalWait, { service, quantile: '0.9' }, seconds(s.approvalWait.p90Ms));
    set(m.drills, { service, result: 'run' }, s.drills.run);
    set(m.drills, { service, result: 'passed' }, s.drills.passed);
    for (const g of s.objectives) set(m.objective, { service, objective: g.objective }, g.met === null ? null : Number(g.met));
  }
  m.refreshed.set(at / 1000);
  m.truncated.set(truncated ? 1 : 0);
}

/** A running refresh of the availability gauges. */
export interface AvailabilityWatch {
  /** Reads the window and sets the gauges now (the loop also does, every interval). */
  refresh(): Promise<AvailabilityReport>;
  stop(): Promise<void>;
}

/** Options of {@link startAvailabilityWatch}. */
export interface AvailabilityWatchOptions {
  nc: NatsConnection;
  registry: Registry;
  logger: Logger;
  objectives: ObjectivesFile;
  intervalMs: number;
  /** @default DEFAULT_AVAILABILITY_WINDOW_MS */
  windowMs?: number;
  /** @default DEFAULT_AVAILABILITY_MAX_EVENTS */
  maxEvents?: number;
  now?: () => number;
}

/**
 * Recomputes the availability report over the last `windowMs` every
 * `intervalMs` and publishes it as gauges; one refresh at a time, each read
 * bounded by `maxEvents`.
 */
export function startAvailabilityWatch(opts: AvailabilityWatchOptions): AvailabilityWatch {
  const now = opts.now ?? Date.now;
  const windowMs = opts.windowMs ?? DEFAULT_AVAILABILITY_WINDOW_MS;
  let running: Promise<AvailabilityReport> | undefined;
  const refresh = (): Promise<AvailabilityReport> => {
    running ??= (async () => {
      const to = now();
      const from = to - windowMs;
      const window = await readAuditWindow(opts.nc, { since: new Date(from), events: AVAILABILITY_EVENTS, maxEvents: opts.maxEvents ?? DEFAULT_AVAILABILITY_MAX_EVENTS });
      const report = availabilityReport(incidentSpans(window.events), { from, to, objectives: opts.objectives, drills: drillOutcomes(window.events) });
      setAvailabilityGauges(opts.registry, report, window.truncated, to);
      if (window.truncated) opts.logger.warn('availability gauges read a truncated audit window', { events: window.events.length });
      return report;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = (): void => {
    refresh().catch((err: unknown) => opts.logger.warn('availability gauges not refreshed', { error: err }));
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  return {
    refresh,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
