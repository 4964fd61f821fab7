import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { readAuditEvents, type AuditEvent } from '../../audit/audit-stream';
import { startAvailabilityWatch } from '../../audit/availability-metrics';
import { createLogger } from '../../observability/logger';
import { freePort } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';
import { approve } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
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
