import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { jetStreamAuditSink, readAuditEvents, type AuditEvent } from '../../audit/audit-stream';
import { publishDrillReport } from '../../audit/drill-reports';
import { DrillReport } from '../../schemas/drill-report';
import { startAvailabilityWatch } from '../../audit/availability-metrics';
import { createLogger } from '../../observability/logger';
import { freePort } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';
import { approve } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { exampleDrillReport } from '../helpers/drill-report-example';
import { runbookFrom, sideEffect, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';

const node = JSON.stringify(process.execPath);
const SERVICE = 'rep-a';
let setup: EngineStack | undefined;
let h: EngineHarness;
let cliReport: { total: { downtimeMs: number; mttr: { p90Ms: number } } } | undefined;

before(async () => {
  setup = await startEngineStack();
  h = setup.h;
});

after(() => setup?.close());

/** confirm (a dead port), isolate, restore; the restore behind an approval if asked, a final step that fails if asked. */
async function runbook(log: string, opts: { approval?: boolean; fail?: boolean } = {}) {
  const deadPort = await freePort();
  return runbookFrom(`
name: report-${opts.approval ? 'approved' : opts.fail ? 'failing' : 'plain'}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
  - id: confirm
    action: { kind: confirm, target: { tcp: { host: 127.0.0.1, port: ${deadPort} } }, timeout: 500ms, samples: 2, interval: 100ms, quorum: 2 }
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(log, 'isolate')} } }
    approval: false
  - id: ${opts.fail ? 'broken' : 'restore'}
    action: ${opts.fail ? `{ kind: command, argv: ${sideEffect(log, 'broken', '--fail-until', '99')} }` : `{ kind: restore, command: { argv: ${sideEffect(log, 'restore')} } }`}
${opts.approval ? '    approval: { approvers: [oncall], timeout: 1m, on_timeout: reject }\n' : ''}${opts.fail ? '    on_failure: abort\n    retry: { max_attempts: 1 }\n' : ''}`);
}

/** Lifecycle events of an incident's runs once its latest run closed. */
async function closedEvents(id: string, runs: number): Promise<AuditEvent[]> {
  let events: AuditEvent[] = [];
  await waitFor(`${runs} closed run(s) of ${id} on the audit stream`, 20_000, async () => {
    events = (await readAuditEvents(setup!.nc, id)).filter((e) => typeof e.runId === 'string');
    return events.filter((e) => e.event === 'incident.closed').length >= runs;
  });
  return events;
}

function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1] ?? NaN;
}

test('runbook report gives the MTTR, MTBF and availability computed from the same audit timestamps', async () => {
  const log = join(h.scratch, 'report.log');
  const plain = await runbook(log);
  // n1 fails twice (one after the other), n2 needs a human to approve the restore, n3 fails for good.
  const first = await h.start(plain, testFault(SERVICE, 'n1'));
  assert.equal((await first.result()).status, 'resolved');
  const second = await h.start(plain, testFault(SERVICE, 'n1'));
  assert.equal((await second.result()).status, 'resolved');
  const gated = await h.start(await runbook(log, { approval: true }), testFault(SERVICE, 'n2'));
  await h.waitForStatus(gated, 'awaiting_approval');
  await gated.signal(approve, h.signed(gated.workflowId, 'approve', { by: 'alice', channel: 'test', reason: 'go', step: 'restore' }));
  assert.equal((await gated.result()).status, 'resolved');
  const failing = await h.start(await runbook(log, { fail: true }), testFault(SERVICE, 'n3'));
  assert.equal((await failing.result()).status, 'failed');

  const events = [
    ...(await closedEvents(`incident/${SERVICE}/n1`, 2)),
    ...(await closedEvents(`incident/${SERVICE}/n2`, 1)),
    ...(await closedEvents(`incident/${SERVICE}/n3`, 1)),
  ];
  const objectives = join(h.scratch, 'objectives.yaml');
  writeFileSync(objectives, `${SERVICE}:\n  availability: 10%\n  mttr: 1h\n`);
  const cli = await runCli(['report', '--service', SERVICE, '--since', '1h', '--objectives-file', objectives, '--json'], setup!.stack.env);
  assert.equal(cli.code, 0, cli.stderr);
  const report = JSON.parse(cli.stdout) as {
    period: { from: string; to: string; ms: number };
    total: { incidents: number; failures: number; byOutcome: Record<string, number>; downtimeMs: number; availability: number; mttr: { count: number; p50Ms: number; p90Ms: number; meanMs: number }; mtbfMs: number; healed: number; healedWithoutHuman: number; approvalWait: { count: number; p50Ms: number }; drills: { run: number; passed: number } };
    services: { service: string; objectives: { objective: string; met: boolean }[] }[];
  };

  // The same figures, from the raw timestamps of the events.
  const runs = [...new Set(events.map((e) => String(e.runId)))].map((runId) => {
    const of = events.filter((e) => e.runId === runId);
    const opened = Date.parse(String(of.find((e) => e.event === 'incident.opened')?.openedAt));
    const closed = of.find((e) => e.event === 'incident.closed');
    const restore = of.find((e) => e.event === 'step.finished' && e.kind === 'restore' && e.status === 'succeeded');
    const end = Date.parse(String(restore?.finishedAt ?? closed?.closedAt));
    return { target: String(of[0]?.incidentId), opened, end, restored: restore !== undefined, status: String(closed?.status) };
  });
  assert.equal(runs.length, 4);
  const repairs = runs.filter((r) => r.restored).map((r) => r.end - r.opened);
  const intervals = runs.map((r) => [r.opened, r.end] as const).sort((a, b) => a[0] - b[0]);
  let downtime = 0;
  let reach = -Infinity;
  for (const [a, b] of intervals) {
    if (b > reach) downtime += b - Math.max(a, reach);
    reach = Math.max(reach, b);
  }
  const n1 = runs.filter((r) => r.target.endsWith('/n1')).map((r) => r.opened).sort((a, b) => a - b);
  const periodMs = Date.parse(report.period.to) - Date.parse(report.period.from);

  assert.equal(report.period.ms, periodMs);
  assert.ok(Math.abs(periodMs - 3_600_000) < 1_000, 'the period is the hour asked for');
  assert.equal(report.total.incidents, 4);
  assert.equal(report.total.failures, 4);
  assert.deepEqual(report.total.byOutcome, { resolved: 3, failed: 1 });
  assert.equal(report.total.mttr.count, 3);
  assert.equal(report.total.mttr.p50Ms, nearestRank(repairs, 50));
  assert.equal(report.total.mttr.p90Ms, nearestRank(repairs, 90));
  assert.equal(report.total.mttr.meanMs, repairs.reduce((a, b) => a + b, 0) / repairs.length);
  assert.equal(report.total.mtbfMs, (n1[1] ?? NaN) - (n1[0] ?? NaN));
  assert.equal(report.total.downtimeMs, downtime);
  assert.equal(report.total.availability, 1 - downtime / periodMs);
  assert.deepEqual([report.total.healed, report.total.healedWithoutHuman], [3, 2]);
  const asked = events.find((e) => e.event === 'approval.requested');
  const decided = events.find((e) => e.event === 'approval.decided');
  assert.equal(report.total.approvalWait.count, 1);
  assert.equal(report.total.approvalWait.p50Ms, Date.parse(String(decided?.decidedAt)) - Date.parse(String(asked?.requestedAt)));
  assert.deepEqual(report.total.drills, { ...report.total.drills, run: 0, passed: 0 });
  assert.deepEqual(report.services.map((s) => s.service), [SERVICE]);
  assert.deepEqual(report.services[0]?.objectives.map((g) => [g.objective, g.met]), [['availability', true], ['mttr', true]]);

  cliReport = report;
  const text = await runCli(['report', '--service', SERVICE, '--since', '1h', '--objectives-file', objectives], setup!.stack.env);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^${SERVICE}\\s+4\\s+4\\s`, 'm'));
  assert.match(text.stdout, /availability .*: met/);

  const bad = await runCli(['report', '--since', 'last week'], setup!.stack.env);
  assert.equal(bad.code === 0, false);
  assert.match(bad.stderr, /--since/);
});

test('the worker publishes the same figures as gauges, reading the audit stream as the worker role', async () => {
  assert.ok(cliReport, 'the report test ran first');
  const nc = await setup!.stack.natsConnect('worker', { name: 'test-availability-watch' });
  const registry = new Registry();
  const watch = startAvailabilityWatch({ nc, registry, logger: createLogger('test', 'error'), objectives: { [SERVICE]: { availability: 0.1 } }, intervalMs: 3_600_000, windowMs: 3_600_000 });
  try {
    const report = await watch.refresh();
    const values = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? [];
    const of = (vs: { labels: Record<string, unknown>; value: number }[], labels: Record<string, string>) => vs.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    assert.equal(of(await values('runbook_downtime_seconds'), { service: SERVICE }), (cliReport?.total.downtimeMs ?? NaN) / 1000);
    assert.equal(of(await values('runbook_mttr_seconds'), { service: SERVICE, quantile: '0.9' }), (cliReport?.total.mttr.p90Ms ?? NaN) / 1000);
    assert.equal(of(await values('runbook_report_incidents'), { service: SERVICE, outcome: 'resolved' }), 3);
    assert.equal(of(await values('runbook_objective_met'), { service: SERVICE, objective: 'availability' }), 1);
    assert.equal(of(await values('runbook_availability_ratio'), { service: SERVICE }), report.services.find((x) => x.service === SERVICE)?.availability);
    assert.equal(of(await values('runbook_availability_truncated'), {}), 0);
  } finally {
    await watch.stop();
    await nc.close();
  }
});

test('drill reports are kept in the audit stream once each, runbook drills lists and shows them, and runbook report counts them', async () => {
  const service = 'rep-drill';
  const sink = jetStreamAuditSink(setup!.nc.jetstream());
  const now = Date.now();
  const at = (s: number): string => new Date(now + s * 1000).toISOString();
  const base = (startS: number, id: string, result: DrillReport['result'], rtoMs: number) => {
    const r = exampleDrillReport({}, at(startS));
    return { ...r, drillId: `drill/${service}/d1/drill-rb/${id}`, service, target: 'd1', runbook: { ...r.runbook, name: 'drill-rb' }, result, measurements: { ...r.measurements, rtoMs } };
  };
  const older = base(-600, 'a', 'passed', 4_000);
  const newer = base(-300, 'b', 'failed', 40_000);
  await publishDrillReport(sink, older);
  await publishDrillReport(sink, newer);
  await publishDrillReport(sink, newer);
  // The incident the newer drill caused: down from -299 s to its restore at -290 s.
  const incidentId = `incident/${service}/d1`;
  const env = (seq: number, s: number) => ({ incidentId, runId: 'drill-run', seq, at: at(s) });
  const lifecycle: AuditEvent[] = [
    { ...env(1, -299), event: 'incident.opened', service, target: 'd1', kind: 'crash', severity: 'critical', dryRun: false, openedAt: at(-299), firstFaultId: 'f-drill', runbook: null, plan: [] },
    { ...env(2, -299), event: 'incident.drill', drillId: newer.drillId },
    { ...env(3, -290), event: 'step.finished', stepId: 'restore', kind: 'restore', status: 'succeeded', attempts: 1, tries: [], finishedAt: at(-290) },
    { ...env(4, -280), event: 'incident.closed', status: 'resolved', outcome: 'healed', closedAt: at(-280), faultsAbsorbed: 1, faults: { recentEventIds: [], resolvedSignals: 0, severity: 'critical', firstSeen: at(-299), lastSeen: at(-299) }, compensations: [], auditGaps: 0 },
  ];
  for (const e of lifecycle) await sink.publish(e, `${incidentId}/drill-run/${String(e.seq)}`);

  const stored = (await readAuditEvents(setup!.nc, incidentId)).filter((e) => e.event === 'drill.report');
  assert.equal(stored.length, 2, 'the retried publish was stored once');

  const list = await runCli(['drills', '--service', service, '--json'], setup!.stack.env);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as { drills: { drillId: string; result: string; rtoMs: number }[]; trend: { runbook: string; count: number; passed: number; rto: { minMs: number; maxMs: number } }[]; invalid: number };
  assert.deepEqual(listed.drills.map((d) => [d.drillId, d.result, d.rtoMs]), [[newer.drillId, 'failed', 40_000], [older.drillId, 'passed', 4_000]]);
  assert.deepEqual(listed.trend.map((t) => [t.runbook, t.count, t.passed, t.rto.minMs, t.rto.maxMs]), [['drill-rb', 2, 1, 4_000, 40_000]]);
  assert.equal(listed.invalid, 0);
  const none = await runCli(['drills', '--runbook', 'no-such-runbook'], setup!.stack.env);
  assert.equal(none.stdout, 'no drill reports\n');

  const show = await runCli(['drills', 'show', newer.drillId], setup!.stack.env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^# Drill FAILED: drill-rb on rep-drill\/d1/);
  const json = await runCli(['drills', 'show', older.drillId, '--json'], setup!.stack.env);
  assert.deepEqual(DrillReport.parse(JSON.parse(json.stdout)), older);
  const missing = await runCli(['drills', 'show', `drill/${service}/d1/drill-rb/zzz`], setup!.stack.env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /holds no report/);

  const report = await runCli(['report', '--service', service, '--since', '1h', '--json'], setup!.stack.env);
  assert.equal(report.code, 0, report.stderr);
  const total = (JSON.parse(report.stdout) as { total: { incidents: number; failures: number; downtimeMs: number; mttr: { count: number }; drills: { run: number; passed: number; incidents: number } } }).total;
  assert.deepEqual(
    { incidents: total.incidents, failures: total.failures, downtimeMs: total.downtimeMs, repairs: total.mttr.count, drills: { run: total.drills.run, passed: total.drills.passed, incidents: total.drills.incidents } },
    { incidents: 1, failures: 0, downtimeMs: 9_000, repairs: 0, drills: { run: 2, passed: 1, incidents: 1 } },
  );
});
