import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditEvent } from '../../audit/audit-stream';
import { availabilityReport, incidentSpans, percentile, unionLength } from '../../audit/availability';
import { drillOutcomes } from '../../audit/drill-reports';
import { exampleDrillReport } from '../helpers/drill-report-example';
import { parseObjectivesFile } from '../../config/objectives';
import { parseSince, renderReportText } from '../../cli/commands/report';

const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const at = (s: number): string => new Date(T0 + s * 1000).toISOString();

interface Planted {
  run: string;
  service?: string;
  target: string;
  opened: number;
  /** Seconds at which the restore step succeeded. */
  restored?: number;
  closed?: number;
  status?: string;
  dryRun?: boolean;
  /** Approval asked and decided by a human at these seconds. */
  approval?: [number, number];
  /** The drill that caused it. */
  drill?: string;
}

/** The lifecycle events an incident run with these times writes to the audit stream. */
function events(p: Planted): AuditEvent[] {
  const service = p.service ?? 'model';
  const incidentId = `incident/${service}/${p.target}`;
  let seq = 0;
  const env = (t: number): Record<string, unknown> => ({ incidentId, runId: p.run, seq: (seq += 1), at: at(t) });
  const out: Record<string, unknown>[] = [
    { ...env(p.opened), event: 'incident.opened', service, target: p.target, kind: 'crash', severity: 'critical', dryRun: p.dryRun ?? false, openedAt: at(p.opened), firstFaultId: `f-${p.run}`, runbook: null, plan: [] },
    { ...env(p.opened + 1), event: 'step.finished', stepId: 'confirm', kind: 'confirm', status: 'succeeded', attempts: 1, tries: [], finishedAt: at(p.opened + 1) },
  ];
  if (p.drill !== undefined) out.push({ ...env(p.opened), event: 'incident.drill', drillId: p.drill });
  if (p.approval) {
    out.push({ ...env(p.approval[0]), event: 'approval.requested', requestId: `r-${p.run}`, type: 'approval', step: 'restore', reason: 'r', approvers: ['oncall'], requestedAt: at(p.approval[0]) });
    out.push({ ...env(p.approval[1]), event: 'approval.decided', requestId: `r-${p.run}`, step: 'restore', outcome: 'approve', decidedAt: at(p.approval[1]), decisions: [{ by: 'alice', channel: 'http', reason: 'ok', at: at(p.approval[1]), verdict: 'approve', accepted: true }] });
  }
  if (p.restored !== undefined) {
    // A failed first report, then the retry that restored traffic: the later report counts.
    out.push({ ...env(p.restored - 1), event: 'step.finished', stepId: 'restore', kind: 'restore', status: 'failed', attempts: 1, tries: [], finishedAt: at(p.restored - 1) });
    out.push({ ...env(p.restored), event: 'step.finished', stepId: 'restore', kind: 'restore', status: 'succeeded', attempts: 2, tries: [], finishedAt: at(p.restored) });
  }
  if (p.closed !== undefined) {
    out.push({
      ...env(p.closed), event: 'incident.closed', status: p.status ?? 'resolved', outcome: p.status ?? 'healed', closedAt: at(p.closed), faultsAbsorbed: 1,
      faults: { recentEventIds: [], resolvedSignals: 0, severity: 'critical', firstSeen: at(p.opened), lastSeen: at(p.opened) }, compensations: [], auditGaps: 0,
    });
  }
  return out as AuditEvent[];
}

const PLANTED: Planted[] = [
  { run: 'a', target: 'm1', opened: 100, restored: 130, closed: 140 },
  { run: 'b', target: 'm1', opened: 1_000, restored: 1_090, closed: 1_100, approval: [1_010, 1_070] },
  { run: 'c', target: 'm2', opened: 1_050, closed: 1_200, status: 'failed' },
  { run: 'd', target: 'm1', opened: 3_000, closed: 3_005, status: 'false_alarm' },
  { run: 'e', target: 'm1', opened: 4_000, restored: 4_010, closed: 4_020, dryRun: true },
  { run: 'f', target: 'm1', opened: 5_000, closed: 5_060 },
  { run: 'g', target: 'm2', opened: 9_000 },
];

test('percentiles are nearest-rank and unions count overlapping downtime once', () => {
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([30, 10, 20, 40], 50), 20);
  assert.equal(percentile([30, 10, 20, 40], 90), 40);
  assert.equal(percentile([7], 90), 7);
  assert.equal(unionLength([[0, 10], [5, 20], [30, 40], [35, 38]], 0, 100), 30);
  assert.equal(unionLength([[-10, 10], [90, 200]], 0, 100), 20);
});

test('a report over planted incidents gives the MTTR, MTBF and availability computed by hand', () => {
  const spans = incidentSpans(PLANTED.flatMap(events).reverse());
  assert.equal(spans.length, 7);
  const from = T0;
  const to = T0 + 10_000_000;
  const report = availabilityReport(spans, { from, to });
  const t = report.total;
  assert.equal(t.incidents, 7);
  assert.deepEqual(t.byOutcome, { resolved: 4, failed: 1, false_alarm: 1, open: 1 });
  assert.equal(t.dryRuns, 1);
  // Failures: a, b, c, f, g (the false alarm and the dry run are not).
  assert.equal(t.failures, 5);
  // Repairs: a 30 s (restored), b 90 s (restored), f 60 s (closed resolved, no restore step); c failed and g is open.
  assert.deepEqual({ ...t.mttr }, { count: 3, meanMs: 60_000, p50Ms: 60_000, p90Ms: 90_000 });
  // Downtime: a [100,130], b [1000,1090] ∪ c [1050,1200] = [1000,1200], f [5000,5060], g [9000, end of period].
  const downtime = (30 + 200 + 60) * 1000 + (to - (T0 + 9_000_000));
  assert.equal(t.downtimeMs, downtime);
  assert.equal(t.availability, 1 - downtime / (to - from));
  // MTBF: m1 failures open at 100, 1000, 5000 (gaps 900, 4000); m2 at 1050, 9000 (gap 7950).
  assert.equal(t.mtbfMs, ((900 + 4000 + 7950) / 3) * 1000);
  // Healed: a, b, f; b needed alice.
  assert.equal(t.healed, 3);
  assert.equal(t.healedWithoutHumanShare, 2 / 3);
  assert.deepEqual({ ...t.approvalWait }, { count: 1, meanMs: 60_000, p50Ms: 60_000, p90Ms: 60_000 });
  assert.deepEqual({ run: t.drills.run, passed: t.drills.passed }, { run: 0, passed: 0 });
});

test('the period bounds which incidents count and clips their downtime', () => {
  const spans = incidentSpans(PLANTED.flatMap(events));
  const report = availabilityReport(spans, { from: T0 + 1_000_000, to: T0 + 1_150_000 });
  // b and c open in the window; c's downtime runs past its end.
  assert.equal(report.total.incidents, 2);
  assert.equal(report.total.downtimeMs, 150_000);
  assert.equal(report.total.availability, 0);
});

test('services are reported apart and graded against their objectives', () => {
  const events2 = [...PLANTED.slice(0, 2).flatMap(events), ...events({ run: 'x', service: 'db', target: 'd1', opened: 200, restored: 260, closed: 270 })];
  const objectives = parseObjectivesFile('model:\n  availability: 99.9%\n  mttr: 1m\n  healed_without_human: 0.5\ndb:\n  mtbf: 1h\ncache:\n  availability: 0.99\n', 'objectives.yaml');
  const report = availabilityReport(incidentSpans(events2), { from: T0, to: T0 + 1_000_000_000, objectives });
  assert.deepEqual(report.services.map((s) => s.service), ['cache', 'db', 'model']);
  const model = report.services.find((s) => s.service === 'model');
  assert.equal(model?.downtimeMs, 120_000);
  assert.deepEqual(model?.objectives.map((g) => [g.objective, g.met]), [['availability', true], ['mttr', false], ['healed_without_human', true]]);
  const db = report.services.find((s) => s.service === 'db');
  assert.deepEqual(db?.objectives.map((g) => [g.objective, g.actual, g.met]), [['mtbf', null, null]]);
  assert.equal(report.services.find((s) => s.service === 'cache')?.availability, 1);

  const only = availabilityReport(incidentSpans(events2), { from: T0, to: T0 + 1_000_000, service: 'db' });
  assert.deepEqual(only.services.map((s) => s.service), ['db']);
  assert.equal(only.total.incidents, 1);
});

test('a bad objectives file is refused with file, line and field', () => {
  assert.throws(
    () => parseObjectivesFile('model:\n  availability: 120%\n  mttr: 5 minutes\n  rto: 30s\n', 'objectives.yaml'),
    (err: Error) => {
      assert.match(err.message, /objectives\.yaml:2: model\.availability/);
      assert.match(err.message, /objectives\.yaml:3: model\.mttr: must be a duration/);
      assert.match(err.message, /objectives\.yaml:4: model\.rto: unknown field/);
      return true;
    },
  );
});

test('the report command reads --since as a look-back or a time, and renders one row per service', () => {
  const now = Date.parse('2026-03-31T00:00:00.000Z');
  assert.equal(parseSince('30d', now), Date.parse('2026-03-01T00:00:00.000Z'));
  assert.equal(parseSince('90m', now), now - 5_400_000);
  assert.equal(parseSince('2026-03-30T12:00:00Z', now), Date.parse('2026-03-30T12:00:00Z'));
  assert.throws(() => parseSince('last week', now), /--since/);
  const objectives = parseObjectivesFile('model:\n  availability: 99.9%\n', 'objectives.yaml');
  const report = availabilityReport(incidentSpans(PLANTED.slice(0, 3).flatMap(events)), { from: T0, to: T0 + 86_400_000, objectives });
  const text = renderReportText(report, false);
  assert.match(text, /^model\s+3\s+3\s+99\.734%\s+3\.8m\s+30\.0s \/ 90\.0s\s+15\.0m\s+1\/2\s+60\.0s \/ 60\.0s\s+0\/0$/m);
  assert.match(text, /availability 99\.734% \(at least 99\.9%\): MISSED/);
  assert.match(text, /^drills: 0\/0 passed, 0 drill incident run\(s\); counted from drill reports/m);
});

test('an incident a drill caused is downtime but not a failure, and drills are counted from their reports', () => {
  const planted: Planted[] = [
    { run: 'a', target: 'm1', opened: 100, restored: 130, closed: 140 },
    { run: 'd1', target: 'm1', opened: 1_000, restored: 1_004, closed: 1_020, drill: 'drill/model/m1/model-failover/1' },
    { run: 'd2', target: 'm1', opened: 2_000, closed: 2_100, status: 'failed', drill: 'drill/model/m1/model-failover/2' },
    { run: 'b', target: 'm1', opened: 3_000, restored: 3_060, closed: 3_070 },
  ];
  const spans = incidentSpans(planted.flatMap(events));
  assert.deepEqual(spans.map((s) => [s.runId, s.drill]), [['a', false], ['d1', true], ['d2', true], ['b', false]]);
  const report = (drill: Parameters<typeof exampleDrillReport>[0], startS: number) => ({ event: 'drill.report', incidentId: 'x', at: at(startS), report: exampleDrillReport(drill, at(startS)) });
  const drillEvents = [
    report({ drillId: 'drill/model/m1/model-failover/1', result: 'passed' }, 990),
    report({ drillId: 'drill/model/m1/model-failover/2', result: 'failed' }, 1_990),
    report({ drillId: 'drill/model/m1/model-failover/3', result: 'rejected' }, 2_500),
    report({ drillId: 'drill/model/m1/model-failover/0', result: 'passed' }, -100),
  ];
  const from = T0;
  const to = T0 + 10_000_000;
  const t = availabilityReport(spans, { from, to, drills: drillOutcomes(drillEvents) }).total;
  assert.equal(t.incidents, 4);
  // Failures are a and b only: MTTR over 30 s and 60 s, MTBF the one gap 100 → 3000.
  assert.equal(t.failures, 2);
  assert.deepEqual({ ...t.mttr }, { count: 2, meanMs: 45_000, p50Ms: 30_000, p90Ms: 60_000 });
  assert.equal(t.mtbfMs, 2_900_000);
  assert.equal(t.healed, 2);
  // Downtime: a 30 s, d1 4 s (to its restore), d2 100 s (failed: to its close), b 60 s.
  assert.equal(t.downtimeMs, (30 + 4 + 100 + 60) * 1000);
  assert.equal(t.availability, 1 - 194_000 / (to - from));
  // Drills started in the period: two ran (one passed); the rejected one never ran; the one before the period is not counted.
  assert.deepEqual({ run: t.drills.run, passed: t.drills.passed, incidents: t.drills.incidents }, { run: 2, passed: 1, incidents: 2 });
  const other = availabilityReport(spans, { from, to, service: 'db', drills: drillOutcomes(drillEvents) }).total.drills;
  assert.deepEqual({ run: other.run, passed: other.passed }, { run: 0, passed: 0 });
});
