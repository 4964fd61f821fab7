import { parseDuration } from '../schemas/duration';
import { LIFECYCLE_EVENTS, LifecycleEvent } from '../schemas/lifecycle-event';
import { SCHEDULED_FAULT_KIND } from '../schemas/scheduled-run';
import type { ObjectivesFile, ServiceObjectives } from '../schemas/service-objectives';
import type { AuditEvent } from './audit-stream';

/**
 * Pure: the availability report of `runbook report` and the worker's
 * availability gauges, from lifecycle events of the audit stream.
 *
 * Definitions (docs/operations.md#availability-report):
 * - a *failure* is an incident run opened in the period that is not a dry run,
 *   not a scheduled run and did not close as a false alarm;
 * - its *downtime* runs from its opening to the time traffic was restored (the
 *   first `restore` step that succeeded, or a `start_service` after a
 *   successful `isolate`: the same milestone as the audit record's
 *   `toRestoreTrafficMs`), else to its close, else (still open) to the end of
 *   the period;
 * - *time to repair* is that downtime, for failures whose traffic was restored
 *   or that closed resolved;
 * - *MTBF* is the mean gap between the openings of consecutive failures of the
 *   same target;
 * - *availability* is 1 − (union of downtime within the period) / period;
 * - an incident a drill caused (`incident.drill`) is not a failure (no MTTR,
 *   no MTBF) but its downtime counts, since clients saw it; drills run and
 *   passed are counted from the drill reports.
 */

/** The steps a restored-traffic time is read from. */
export interface StepMilestone {
  kind: string;
  status: string;
  finishedAt?: string | undefined;
}

/** When traffic was restored: the first succeeded `restore` step, or `start_service` once an `isolate` succeeded. */
export function restoredTrafficAt(steps: readonly StepMilestone[]): string | undefined {
  const first = (kind: string): string | undefined => steps.find((s) => s.kind === kind && s.status === 'succeeded' && s.finishedAt)?.finishedAt;
  return first('restore') ?? (first('isolate') ? first('start_service') : undefined);
}

/** One incident run as the report needs it; times in epoch milliseconds. */
export interface IncidentSpan {
  incidentId: string;
  runId: string;
  service: string;
  target: string;
  kind: string;
  dryRun: boolean;
  openedAt: number;
  restoredAt?: number;
  closedAt?: number;
  /** Closing status (`resolved`, `false_alarm`, `failed`, …), or `open`. */
  status: string;
  /** Some human decision was accepted during the run. */
  humanDecided: boolean;
  /** For each approval request a human decided: milliseconds from the request to the decision. */
  approvalWaitsMs: number[];
  /** Caused by a drill (an `incident.drill` event): not a failure, but its downtime counts. */
  drill: boolean;
}

/** A drill as the report counts it, from its report. */
export interface DrillOutcome {
  service: string;
  /** `passed`, `failed`, `rejected` or `aborted`. */
  result: string;
  /** Epoch milliseconds the drill started. */
  startedAt: number;
}

/** Groups lifecycle events into incident runs; runs whose `incident.opened` is not among the events are left out. */
export function incidentSpans(events: readonly AuditEvent[]): IncidentSpan[] {
  const runs = new Map<string, LifecycleEvent[]>();
  for (const e of events) {
    if (!LIFECYCLE_EVENTS.includes(e.event)) continue;
    const parsed = LifecycleEvent.safeParse(e);
    if (!parsed.success) continue;
    const list = runs.get(parsed.data.runId) ?? [];
    list.push(parsed.data);
    runs.set(parsed.data.runId, list);
  }
  const spans: IncidentSpan[] = [];
  for (const [runId, list] of runs) {
    list.sort((a, b) => a.seq - b.seq);
    const opened = list.find((e) => e.event === 'incident.opened');
    if (!opened) continue;
    const latest = new Map<string, StepMilestone>();
    const steps: StepMilestone[] = [];
    const requestedAt = new Map<string, string>();
    const waits: number[] = [];
    let humanDecided = false;
    let drill = false;
    let closed: Extract<LifecycleEvent, { event: 'incident.closed' }> | undefined;
    for (const e of list) {
      if (e.event === 'step.finished') {
        // A retried step reports again: the later report replaces the earlier one, in its place.
        const step = { kind: e.kind, status: e.status, finishedAt: e.finishedAt };
        const seen = latest.get(e.stepId);
        if (seen) Object.assign(seen, step);
        else {
          latest.set(e.stepId, step);
          steps.push(step);
        }
      } else if (e.event === 'approval.requested') {
        requestedAt.set(e.requestId, e.requestedAt);
      } else if (e.event === 'approval.decided' || e.event === 'escalation.decided') {
        const byHuman = e.decisions.some((d) => d.accepted);
        humanDecided ||= byHuman;
        const asked = requestedAt.get(e.requestId);
        if (byHuman && asked !== undefined && e.event === 'approval.decided') waits.push(Math.max(0, Date.parse(e.decidedAt) - Date.parse(asked)));
      } else if (e.event === 'incident.closed') {
        closed = e;
      } else if (e.event === 'incident.drill') {
        drill = true;
      }
    }
    const restored = restoredTrafficAt(steps);
    spans.push({
      incidentId: opened.incidentId,
      runId,
      service: opened.service,
      target: opened.target,
      kind: opened.kind,
      dryRun: opened.dryRun,
      openedAt: Date.parse(opened.openedAt),
      ...(restored ? { restoredAt: Date.parse(restored) } : {}),
      ...(closed ? { closedAt: Date.parse(closed.closedAt) } : {}),
      status: closed?.status ?? 'open',
      humanDecided,
      approvalWaitsMs: waits,
      drill,
    });
  }
  return spans.sort((a, b) => a.openedAt - b.openedAt);
}

/** Nearest-rank percentile of `values` (`p` in 0..100); null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Total length of the union of intervals, each clipped to [from, to]. */
export function unionLength(intervals: readonly (readonly [number, number])[], from: number, to: number): number {
  const clipped = intervals.map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** A distribution of milliseconds. */
export interface Millis {
  count: number;
  meanMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
}

function millis(values: readonly number[]): Millis {
  return { count: values.length, meanMs: mean(values), p50Ms: percentile(values, 50), p90Ms: percentile(values, 90) };
}

/** One graded objective. */
export interface ObjectiveGrade {
  objective: 'availability' | 'mttr' | 'mtbf' | 'healed_without_human';
  target: number;
  actual: number | null;
  /** null when there is no figure to grade (no failures, no repairs). */
  met: boolean | null;
}

/** The figures of one service, or of all of them together. */
export interface AvailabilityFigures {
  incidents: number;
  /** Incident runs by closing status, `open` for those still running. */
  byOutcome: Record<string, number>;
  dryRuns: number;
  scheduledRuns: number;
  failures: number;
  downtimeMs: number;
  availability: number;
  /** Time to repair (opening → traffic restored, else → resolved close). */
  mttr: Millis;
  /** Mean gap between openings of consecutive failures of one target; null without two failures on a target. */
  mtbfMs: number | null;
  healed: number;
  healedWithoutHuman: number;
  /** healedWithoutHuman / healed; null when nothing was healed. */
  healedWithoutHumanShare: number | null;
  /** From an approval request to the human decision that settled it. */
  approvalWait: Millis;
  /** Drills started in the period (rejected ones aside) and passed, from their reports; incident runs a drill caused. */
  drills: { run: number; passed: number; incidents: number; note: string };
}

/** A service's figures and, if it has objectives, their grades. */
export interface ServiceAvailability extends AvailabilityFigures {
  service: string;
  objectives: ObjectiveGrade[];
}

/** What `runbook report --json` prints. */
export interface AvailabilityReport {
  period: { from: string; to: string; ms: number };
  service: string | null;
  total: AvailabilityFigures;
  services: ServiceAvailability[];
}

/** Said of the drill counts: where they come from and how drill incidents count. */
export const DRILLS_NOTE = 'counted from drill reports (runbook drills); a drill\'s incident is downtime, not a failure';

function figures(spans: readonly IncidentSpan[], drillOutcomes: readonly DrillOutcome[], from: number, to: number): AvailabilityFigures {
  const byOutcome: Record<string, number> = {};
  for (const s of spans) byOutcome[s.status] = (byOutcome[s.status] ?? 0) + 1;
  const scheduled = spans.filter((s) => s.kind === SCHEDULED_FAULT_KIND);
  const down = spans.filter((s) => !s.dryRun && s.kind !== SCHEDULED_FAULT_KIND && s.status !== 'false_alarm');
  const failures = down.filter((s) => !s.drill);
  const downEnd = (s: IncidentSpan): number => s.restoredAt ?? s.closedAt ?? to;
  const downtimeMs = unionLength(down.map((s) => [s.openedAt, downEnd(s)] as const), from, to);
  const repairs = failures.flatMap((s) => {
    const end = s.restoredAt ?? (s.status === 'resolved' ? s.closedAt : undefined);
    return end === undefined ? [] : [Math.max(0, end - s.openedAt)];
  });
  const gaps: number[] = [];
  const byTarget = new Map<string, IncidentSpan[]>();
  for (const s of failures) byTarget.set(`${s.service}/${s.target}`, [...(byTarget.get(`${s.service}/${s.target}`) ?? []), s]);
  for (const list of byTarget.values()) {
    for (let i = 1; i < list.length; i += 1) gaps.push((list[i]?.openedAt ?? 0) - (list[i - 1]?.openedAt ?? 0));
  }
  const healed = failures.filter((s) => s.status === 'resolved');
  const healedAlone = healed.filter((s) => !s.humanDecided).length;
  const drillsRun = drillOutcomes.filter((d) => d.result !== 'rejected');
  return {
    incidents: spans.length,
    byOutcome,
    dryRuns: spans.filter((s) => s.dryRun).length,
    scheduledRuns: scheduled.length,
    failures: failures.length,
    downtimeMs,
    availability: to > from ? 1 - downtimeMs / (to - from) : 1,
    mttr: millis(repairs),
    mtbfMs: mean(gaps),
    healed: healed.length,
    healedWithoutHuman: healedAlone,
    healedWithoutHumanShare: healed.length === 0 ? null : healedAlone / healed.length,
    approvalWait: millis(failures.flatMap((s) => s.approvalWaitsMs)),
    drills: { run: drillsRun.length, passed: drillsRun.filter((d) => d.result === 'passed').length, incidents: spans.filter((s) => s.drill).length, note: DRILLS_NOTE },
  };
}

/** Grades a service's figures against its objectives. */
export function gradeObjectives(f: AvailabilityFigures, o: ServiceObjectives | undefined): ObjectiveGrade[] {
  if (!o) return [];
  const grades: ObjectiveGrade[] = [];
  const atLeast = (actual: number | null, target: number): boolean | null => (actual === null ? null : actual >= target);
  if (o.availability !== undefined) grades.push({ objective: 'availability', target: o.availability, actual: f.availability, met: atLeast(f.availability, o.availability) });
  if (o.mttr !== undefined) {
    const target = parseDuration(o.mttr);
    grades.push({ objective: 'mttr', target, actual: f.mttr.p90Ms, met: f.mttr.p90Ms === null ? null : f.mttr.p90Ms <= target });
  }
  if (o.mtbf !== undefined) grades.push({ objective: 'mtbf', target: parseDuration(o.mtbf), actual: f.mtbfMs, met: atLeast(f.mtbfMs, parseDuration(o.mtbf)) });
  if (o.healed_without_human !== undefined) grades.push({ objective: 'healed_without_human', target: o.healed_without_human, actual: f.healedWithoutHumanShare, met: atLeast(f.healedWithoutHumanShare, o.healed_without_human) });
  return grades;
}

/** Options of {@link availabilityReport}. */
export interface ReportWindow {
  from: number;
  to: number;
  /** Only this service. */
  service?: string;
  objectives?: ObjectivesFile;
  /** Drills, from their reports; those started within the period are counted. */
  drills?: readonly DrillOutcome[];
}

/** The report over the incident runs opened within [from, to]. */
export function availabilityReport(spans: readonly IncidentSpan[], { from, to, service, objectives = {}, drills = [] }: ReportWindow): AvailabilityReport {
  const inWindow = spans.filter((s) => s.openedAt >= from && s.openedAt <= to && (service === undefined || s.service === service));
  const drillsInWindow = drills.filter((d) => d.startedAt >= from && d.startedAt <= to && (service === undefined || d.service === service));
  const names = [...new Set([...inWindow.map((s) => s.service), ...drillsInWindow.map((d) => d.service), ...(service !== undefined ? [service] : Object.keys(objectives))])].sort();
  return {
    period: { from: new Date(from).toISOString(), to: new Date(to).toISOString(), ms: to - from },
    service: service ?? null,
    total: figures(inWindow, drillsInWindow, from, to),
    services: names.map((name) => {
      const f = figures(inWindow.filter((s) => s.service === name), drillsInWindow.filter((d) => d.service === name), from, to);
      return { service: name, ...f, objectives: gradeObjectives(f, objectives[name]) };
    }),
  };
}
