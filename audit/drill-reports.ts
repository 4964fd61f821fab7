import type { NatsConnection } from 'nats';
import { DRILL_REPORT_EVENT, DrillReport } from '../schemas/drill-report';
import { LIFECYCLE_EVENTS } from '../schemas/lifecycle-event';
import { AUDIT_SUBJECT_PREFIX, auditSubject, readAuditSubjects, type AuditSink } from './audit-stream';
import { percentile, type DrillOutcome } from './availability';

/*
 * Drill reports are kept in the audit stream, so they outlive Temporal's
 * retention like the incidents they exercised. A drill id
 * `drill/<service>/<target>/<runbook>/<stamp>` maps to the subject
 * `audit.<service>.<target>.drill.report`, beside that target's incidents.
 */

/** Message id of a drill's report: the same on every retry of the publish, so it is stored once. */
export const drillReportMsgId = (drillId: string): string => `drill-report-${drillId}`;

/** Stores a drill's report in the audit stream. */
export async function publishDrillReport(sink: AuditSink, report: DrillReport): Promise<void> {
  await sink.publish({ event: DRILL_REPORT_EVENT, incidentId: report.drillId, at: report.endedAt, report }, drillReportMsgId(report.drillId));
}

/** Filters of {@link listDrillReports}. */
export interface DrillReportFilter {
  runbook?: string;
  service?: string;
  /** Reports stored since then. */
  since?: Date;
}

/** What {@link listDrillReports} read. */
export interface DrillReports {
  /** Newest first (by start), one per drill. */
  reports: DrillReport[];
  /** `drill.report` events whose report did not parse; left out of `reports`. */
  invalid: number;
  /** More reports were stored than were read (the oldest were read). */
  truncated: boolean;
}

/** Most events one read takes. @default 10000 */
export const DEFAULT_DRILL_REPORTS_MAX = 10_000;


/** The reports among audit events (others are passed over): the last stored per drill, newest drill first. */
export function drillReportsFrom(events: readonly unknown[]): Omit<DrillReports, 'truncated'> {
  const byId = new Map<string, DrillReport>();
  let invalid = 0;
  for (const e of events) {
    const event = e as { event?: unknown; report?: unknown } | null;
    if (event?.event !== DRILL_REPORT_EVENT) continue;
    const parsed = DrillReport.safeParse(event.report);
    if (!parsed.success) invalid += 1;
    else byId.set(parsed.data.drillId, parsed.data);
  }
  const reports = [...byId.values()].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.drillId < b.drillId ? 1 : -1));
  return { reports, invalid };
}

/** The `drill.report` subject of one service, or of every service (`*`). */
export function drillReportSubject(service?: string): string {
  const token = service === undefined ? '*' : (auditSubject(`drill/${service}/_`, DRILL_REPORT_EVENT).split('.')[1] ?? '*');
  return [AUDIT_SUBJECT_PREFIX, token, '*', ...DRILL_REPORT_EVENT.split('.')].join('.');
}

/** Every drill report in the audit stream matching the filter, newest first. */
export async function listDrillReports(nc: NatsConnection, filter: DrillReportFilter = {}, max = DEFAULT_DRILL_REPORTS_MAX): Promise<DrillReports> {
  const { events, truncated } = await readAuditSubjects(nc, [drillReportSubject(filter.service)], filter.since, max);
  const read = drillReportsFrom(events);
  const reports = read.reports.filter((r) => (filter.runbook === undefined || r.runbook.name === filter.runbook) && (filter.service === undefined || r.service === filter.service));
  return { reports, invalid: read.invalid, truncated };
}

/** One drill's report, or undefined when the audit stream holds none for it. */
export async function readDrillReport(nc: NatsConnection, drillId: string): Promise<DrillReport | undefined> {
  const { events } = await readAuditSubjects(nc, [auditSubject(drillId, DRILL_REPORT_EVENT)], undefined, DEFAULT_DRILL_REPORTS_MAX);
  return drillReportsFrom(events).reports.find((r) => r.drillId === drillId);
}

/** What the availability report reads from the audit stream: the lifecycle events and the drill reports. */
export const AVAILABILITY_EVENTS: readonly string[] = [...LIFECYCLE_EVENTS, DRILL_REPORT_EVENT];

/** The drills among audit events, as the availability report counts them. */
export function drillOutcomes(events: readonly unknown[]): DrillOutcome[] {
  return drillReportsFrom(events).reports.map((r) => ({ service: r.service, result: r.result, startedAt: Date.parse(r.startedAt) }));
}

/** A drill report without its timeline, grades and the incident's audit record. */
export interface DrillSummary {
  drillId: string;
  startedAt: string;
  runbook: string;
  service: string;
  target: string;
  dryRun: boolean;
  result: DrillReport['result'];
  rtoMs: number | null;
  rpoMs: number | null;
  reasons: DrillReport['reasons'];
}

/** One line of `runbook drills list --json` and of the API's GET /drills. */
export function drillSummary(r: DrillReport): DrillSummary {
  return {
    drillId: r.drillId,
    startedAt: r.startedAt,
    runbook: r.runbook.name,
    service: r.service,
    target: r.target,
    dryRun: r.dryRun,
    result: r.result,
    rtoMs: r.measurements.rtoMs ?? null,
    rpoMs: r.measurements.rpoMs ?? null,
    reasons: r.reasons,
  };
}

/** Smallest, median and largest of some milliseconds; nulls without any. */
export interface Spread {
  count: number;
  minMs: number | null;
  p50Ms: number | null;
  maxMs: number | null;
}

function spread(values: readonly number[]): Spread {
  return { count: values.length, minMs: values.length ? Math.min(...values) : null, p50Ms: percentile(values, 50), maxMs: values.length ? Math.max(...values) : null };
}

/** How a runbook's drills went. */
export interface DrillTrend {
  runbook: string;
  count: number;
  passed: number;
  lastResult: DrillReport['result'];
  lastAt: string;
  /** RTO and RPO over the last `window` drills that measured them. */
  rto: Spread;
  rpo: Spread;
  window: number;
}

/** Drills whose RTO and RPO the trend spreads. @default 10 */
export const DEFAULT_TREND_WINDOW = 10;

/** Per runbook (by name): drills run, passed, the last result, and the spread of RTO and RPO over the last `window`. */
export function drillTrend(reports: readonly DrillReport[], window = DEFAULT_TREND_WINDOW): DrillTrend[] {
  const byRunbook = new Map<string, DrillReport[]>();
  for (const r of reports) byRunbook.set(r.runbook.name, [...(byRunbook.get(r.runbook.name) ?? []), r]);
  return [...byRunbook.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([runbook, list]) => {
      const newest = [...list].sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
      const last = newest.slice(0, window);
      const first = newest[0];
      return {
        runbook,
        count: list.length,
        passed: list.filter((r) => r.result === 'passed').length,
        lastResult: first?.result ?? 'aborted',
        lastAt: first?.startedAt ?? '',
        rto: spread(last.flatMap((r) => (r.measurements.rtoMs === undefined ? [] : [r.measurements.rtoMs]))),
        rpo: spread(last.flatMap((r) => (r.measurements.rpoMs === undefined ? [] : [r.measurements.rpoMs]))),
        window,
      };
    });
}
