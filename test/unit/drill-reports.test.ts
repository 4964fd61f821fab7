import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditSubject, type AuditEvent, type AuditSink } from '../../audit/audit-stream';
import { drillOutcomes, drillReportsFrom, drillReportSubject, drillTrend, publishDrillReport } from '../../audit/drill-reports';
import { renderDrillList } from '../../cli/commands/drills';
import type { DrillReport } from '../../schemas/drill-report';
import { exampleDrillReport } from '../helpers/drill-report-example';

/** A report of `runbook` on target `m1` started `day` days after 2026-04-01, with these measurements. */
function drill(runbook: string, day: number, result: DrillReport['result'], rtoMs?: number, rpoMs?: number): DrillReport {
  const base = new Date(Date.parse('2026-04-01T10:00:00.000Z') + day * 86_400_000).toISOString();
  const r = exampleDrillReport({}, base);
  return {
    ...r,
    drillId: `drill/model/m1/${runbook}/${day}`,
    runbook: { ...r.runbook, name: runbook },
    result,
    measurements: { ...(rtoMs !== undefined ? { rtoMs } : {}), ...(rpoMs !== undefined ? { rpoMs } : {}) },
  };
}

const event = (report: unknown): AuditEvent => ({ event: 'drill.report', incidentId: 'drill/x/y', at: '2026-04-01T10:00:00.000Z', report });

test('a report is published as a drill.report audit event under a message id of its drill, on its target\'s subject', async () => {
  const published: [AuditEvent, string | undefined][] = [];
  const sink: AuditSink = { publish: async (e, id) => void published.push([e, id]) };
  const report = exampleDrillReport();
  await publishDrillReport(sink, report);
  await publishDrillReport(sink, report);
  const stored = [{ event: 'drill.report', incidentId: report.drillId, at: report.endedAt, report }, `drill-report-${report.drillId}`];
  assert.deepEqual(published, [stored, stored], 'a retry carries the same message id, so JetStream stores it once');
  assert.equal(auditSubject(report.drillId, 'drill.report'), 'audit.model.m1.drill.report');
  assert.equal(drillReportSubject(), 'audit.*.*.drill.report');
  assert.equal(drillReportSubject('model'), 'audit.model.*.drill.report');
  assert.equal(drillReportSubject('we.b'), 'audit.we_b.*.drill.report');
});

test('reports read back newest first, one per drill (the last stored), skipping other events and counting bad ones', () => {
  const first = drill('model-failover', 1, 'failed', 9_000);
  const retried = { ...first, result: 'passed' as const };
  const read = drillReportsFrom([
    event(drill('model-failover', 0, 'passed', 4_000)),
    event(first),
    { event: 'incident.opened', incidentId: 'incident/model/m1' },
    event({ drillId: 'drill/model/m1/x/1', result: 'maybe' }),
    event(drill('db-restore', 2, 'passed')),
    event(retried),
  ]);
  assert.deepEqual(read.reports.map((r) => [r.drillId, r.result]), [
    ['drill/model/m1/db-restore/2', 'passed'],
    ['drill/model/m1/model-failover/1', 'passed'],
    ['drill/model/m1/model-failover/0', 'passed'],
  ]);
  assert.equal(read.invalid, 1);
  assert.deepEqual(drillOutcomes([event(first)]), [{ service: 'model', result: 'failed', startedAt: Date.parse(first.startedAt) }]);
});

test('the trend per runbook counts drills and passes, and spreads RTO and RPO over the last N that measured them', () => {
  const reports = [
    drill('model-failover', 0, 'passed', 4_000, 1_000),
    drill('model-failover', 1, 'failed', 40_000),
    drill('model-failover', 2, 'passed', 6_000, 3_000),
    drill('model-failover', 3, 'rejected'),
    drill('db-restore', 1, 'aborted'),
  ];
  const [db, model] = drillTrend(reports, 3);
  assert.deepEqual(db, { runbook: 'db-restore', count: 1, passed: 0, lastResult: 'aborted', lastAt: reports[4]?.startedAt, rto: { count: 0, minMs: null, p50Ms: null, maxMs: null }, rpo: { count: 0, minMs: null, p50Ms: null, maxMs: null }, window: 3 });
  assert.equal(model?.count, 4);
  assert.equal(model?.passed, 2);
  assert.equal(model?.lastResult, 'rejected');
  // The last three are days 3, 2 and 1: day 0's 4 s is outside the window.
  assert.deepEqual(model?.rto, { count: 2, minMs: 6_000, p50Ms: 6_000, maxMs: 40_000 });
  assert.deepEqual(model?.rpo, { count: 1, minMs: 3_000, p50Ms: 3_000, maxMs: 3_000 });
});

test('runbook drills list prints one line per drill and the trend per runbook', () => {
  const reports = [drill('model-failover', 1, 'failed', 40_000), drill('model-failover', 0, 'passed', 4_000, 1_000)];
  const text = renderDrillList(reports, drillTrend(reports));
  assert.match(text, /^WHEN\s+RUNBOOK\s+TARGET\s+RESULT\s+RTO\s+RPO\s+DRILL$/m);
  assert.match(text, /^2026-04-02T10:00:00\.000Z\s+model-failover\s+model\/m1\s+failed\s+40\.0s\s+-\s+drill\/model\/m1\/model-failover\/1$/m);
  assert.match(text, /^2026-04-01T10:00:00\.000Z\s+model-failover\s+model\/m1\s+passed\s+4\.0s\s+1\.0s\s+drill\/model\/m1\/model-failover\/0$/m);
  assert.match(text, /^model-failover\s+2\s+1\s+failed 2026-04-02T10:00:00\.000Z\s+4\.0s \/ 4\.0s \/ 40\.0s\s+1\.0s \/ 1\.0s \/ 1\.0s$/m);
  assert.equal(renderDrillList([], []), 'no drill reports\n');
});
