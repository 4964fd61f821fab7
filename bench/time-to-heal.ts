import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { StandbyMode } from '../demo/fleet-files';
import { DEFAULT_LOAD_INTERVAL_MS } from '../demo/load-generator';
import { DEFAULT_PROBE_INTERVAL_MS } from '../demo/prober';
import { runScenario, scenarioSucceeded } from '../demo/scenarios';
import { formatMs, summarize } from './stats';
import type { BenchContext, BenchRow, BenchSection } from './report-types';

/** Crash runs and hang runs of a full measurement, each with a hot standby. */
const RUNS = 10;
/** Crash runs with a cold standby, the comparison. */
const COLD_RUNS = 3;
/** Fault → the incident closed healed, fail-back included. */
const HEALED_TARGET_MS = 15_000;

type Fault = 'crash' | 'hang';

/** What one run measured, in milliseconds from the fault injection. */
interface FaultRun {
  detectMs: number;
  /** 0 when no request failed. */
  trafficRestoredMs: number;
  healedMs: number;
  failedRequests: number;
  approvalWaitMs: number;
  /** Detection → the confirm step succeeded: intake, the incident's start, two probes a second apart. */
  confirmMs: number;
  /** Requests answered before the injection. */
  steadyP99Ms: number;
  /** Requests sent from the injection until the incident closed, fail-back included. */
  failoverP99Ms: number;
  failoverMaxMs: number;
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(2)} s`;

function timeRow(metric: string, samples: readonly number[], targetMs?: number): BenchRow {
  const { p50, max, n } = summarize(samples);
  const row: BenchRow = { metric, value: `p50 ${seconds(p50)}, max ${seconds(max)} (n=${n})` };
  if (targetMs !== undefined) {
    row.target = `p50 and max ≤ ${targetMs / 1_000} s`;
    row.met = max <= targetMs;
  }
  return row;
}

function failedRow(metric: string, runs: readonly FaultRun[], target: boolean): BenchRow {
  const { p50, max, n } = summarize(runs.map((r) => r.failedRequests));
  const row: BenchRow = { metric, value: `p50 ${p50}, max ${max} (n=${n}, ${1_000 / DEFAULT_LOAD_INTERVAL_MS} requests/s)` };
  if (target) {
    row.target = 'p50 and max = 0';
    row.met = max === 0;
  }
  return row;
}

/** p99 latency during the failover beside the steady p99 of the same runs as its floor. */
function latencyRow(metric: string, runs: readonly FaultRun[]): BenchRow {
  const failover = summarize(runs.map((r) => r.failoverP99Ms));
  const steady = summarize(runs.map((r) => r.steadyP99Ms)).p50;
  return {
    metric,
    value: `p50 ${formatMs(failover.p50)}, max ${formatMs(failover.max)} (n=${failover.n})`,
    floor: `steady p99 ${formatMs(steady)}`,
    ratio: failover.p50 / Math.max(steady, 1),
  };
}

/**
 * One fault on a private stack of its own. A stack per run, because the demo
 * runbook's flap guard counts incidents for the same target within three
 * minutes: on a shared stack the third fault would stop for a human instead
 * of healing, and deleted runs take about 20 s to leave Temporal's
 * visibility store, longer than starting new servers.
 */
async function faultOnce(ctx: BenchContext, fault: Fault, standby: StandbyMode, n: number): Promise<FaultRun> {
  const isolated = await ctx.stacks.start();
  let result: Awaited<ReturnType<typeof runScenario>>;
  try {
    result = await runScenario(fault, { config: isolated.config, demoDir: join(ctx.workDir, `${fault}-${standby}-${n}`), autoApprove: true, standby });
  } finally {
    await isolated.stop();
  }
  const round = result.report.rounds[0];
  if (!scenarioSucceeded(fault, result) || !round) throw new Error(`${fault} run ${n} (${standby}) did not heal: ${result.report.verdict}`);
  const { injectedAt, detectedAt, trafficRestoredAt, healedAt, latency } = round;
  const confirmedAt = Date.parse(result.incidents[0]?.steps.find((s) => s.id === 'confirm')?.finishedAt ?? '');
  if (detectedAt === undefined || healedAt === undefined || Number.isNaN(confirmedAt) || !latency?.steady || !latency.failover) {
    throw new Error(`${fault} run ${n} (${standby}) lacks a detection, confirmation, heal time or latency`);
  }
  return {
    detectMs: detectedAt - injectedAt,
    trafficRestoredMs: trafficRestoredAt === undefined ? 0 : trafficRestoredAt - injectedAt,
    healedMs: healedAt - injectedAt,
    failedRequests: round.failedRequests,
    approvalWaitMs: round.incident?.approvalWaitMs ?? 0,
    confirmMs: confirmedAt - detectedAt,
    steadyP99Ms: latency.steady.p99Ms,
    failoverP99Ms: latency.failover.p99Ms,
    failoverMaxMs: latency.failover.maxMs,
  };
}

async function series(ctx: BenchContext, fault: Fault, standby: StandbyMode, runs: number): Promise<FaultRun[]> {
  const measured: FaultRun[] = [];
  for (let n = 1; n <= runs; n++) {
    const run = await faultOnce(ctx, fault, standby, n);
    measured.push(run);
    ctx.log(
      `time-to-heal: ${fault} (${standby} standby) ${n}/${runs}: detected ${seconds(run.detectMs)}, healed ${seconds(run.healedMs)}, ` +
        `${run.failedRequests} failed requests, p99 ${run.failoverP99Ms} ms (max ${run.failoverMaxMs} ms) during failover, ${run.steadyP99Ms} ms steady`,
    );
  }
  return measured;
}

/**
 * The demo's crash and hang scenarios, timed: SIGKILL or SIGSTOP the primary
 * model server behind HAProxy with a hot standby and count failed requests
 * and request latency until the incident closed, fail-back included; then a
 * few crashes with a cold standby for comparison. Runs are sequential, each
 * on a fresh private stack.
 */
export async function timeToHeal(ctx: BenchContext): Promise<BenchSection> {
  const runs = ctx.smoke ? 1 : RUNS;
  const coldRuns = ctx.smoke ? 0 : COLD_RUNS;
  const loadBefore = loadavg()[0] ?? 0;
  ctx.log(`time-to-heal: ${runs} crash and ${runs} hang run(s) with a hot standby, ${coldRuns} crash run(s) with a cold one, each on a fresh private Temporal and NATS`);
  const crash = await series(ctx, 'crash', 'hot', runs);
  const hang = await series(ctx, 'hang', 'hot', runs);
  const cold = await series(ctx, 'crash', 'cold', coldRuns);
  const loadAfter = loadavg()[0] ?? 0;

  const p50 = (of: readonly FaultRun[], pick: (r: FaultRun) => number): string => seconds(summarize(of.map(pick)).p50);
  const maxOf = (of: readonly FaultRun[], pick: (r: FaultRun) => number): string => formatMs(summarize(of.map(pick)).max);
  const perSecond = 1_000 / DEFAULT_LOAD_INTERVAL_MS;
  const rows: BenchRow[] = [
    timeRow('crash → detected', crash.map((r) => r.detectMs)),
    failedRow('failed requests per crash (hot standby)', crash, true),
    failedRow('failed requests per hang (hot standby)', hang, true),
    latencyRow('p99 request latency during a crash failover', crash),
    latencyRow('p99 request latency during a hang failover', hang),
    timeRow('crash → fully healed', crash.map((r) => r.healedMs), HEALED_TARGET_MS),
    timeRow('hang → fully healed', hang.map((r) => r.healedMs), HEALED_TARGET_MS),
  ];
  if (cold.length > 0) {
    rows.push(failedRow('failed requests per crash (cold standby)', cold, false));
    rows.push(timeRow('crash → traffic restored (cold standby)', cold.map((r) => r.trafficRestoredMs)));
  }
  return {
    id: 'time-to-heal',
    title: 'Time to heal (demo crash and hang)',
    method:
      `\`runbook demo crash\` and \`runbook demo hang\` with \`--auto-approve\` as code (\`runScenario\` in demo/scenarios.ts): ${runs} crash and ${runs} hang run(s) ` +
      `with a hot standby, then ${coldRuns} crash run(s) with a cold one, sequential, each on a fresh private stack ` +
      `(${ctx.stacks.engines}; production workflow bundle) as the first demo after \`runbook up${ctx.stacks.kind === 'cluster' ? ' --cluster' : ''}\` would find it. ` +
      'Each run brings up its own fleet (HAProxy, primary, standby), demo worker, ' +
      `intake, prober (every ${DEFAULT_PROBE_INTERVAL_MS} ms) and load (${perSecond} requests/s through HAProxy), SIGKILLs (crash) or SIGSTOPs (hang) the primary and follows ` +
      'the incident to its close. Failed requests and the failover latency count every request sent from the injection until the incident closed, ' +
      'fail-back included; the floor is the p99 of the requests answered before the injection in the same runs. Times count from the injection: ' +
      'detect = the prober published the fault; fully healed = the incident closed healed, fail-back approval included; traffic restored (cold only) = ' +
      'the first successful request after the last failed one. A fresh stack per run keeps the runbook\'s flap guard (3 incidents in 3 minutes) ' +
      'from stopping the third fault for a human.',
    rows,
    notes: [
      'Hot standby: HAProxy retries a request that met a refused connection, an empty answer or no answer within 250 ms (`retry-on`, `retries 4`, ' +
        '`option redispatch 1`), and marks the primary down at its first refused connection (`observe layer7`, `on-error mark-down`) or after two ' +
        'failed checks 100 ms apart once one failed, so the retry lands on the `backup` standby. The client sees latency, not an error: ' +
        `the worst request waited ${maxOf(crash, (r) => r.failoverMaxMs)} in a crash and ${maxOf(hang, (r) => r.failoverMaxMs)} in a hang ` +
        '(a hung primary costs whole server timeouts until its checks fail). docs/load-balancer.md explains each setting.',
      `Each p99 covers ${perSecond} requests/s over a few seconds, so it is close to the slowest request of the run: the few requests in flight when the fault struck. ` +
        'Requests after the primary is marked down go straight to the standby at steady-state latency.',
      `Where fully healed goes (p50): detect ${p50(crash, (r) => r.detectMs)}; detected → confirmed ${p50(crash, (r) => r.confirmMs)} ` +
        '(intake, the incident\'s start, two probes a second apart); then fence, resync, restart the primary and fail back through drain, which waits for ' +
        `HAProxy's checks to see the primary up before it takes requests. The fail-back approval waited p50 ${p50(crash, (r) => r.approvalWaitMs)} (the demo's poll answers it).`,
      ...(cold.length > 0
        ? [
            `Cold standby (stopped and in maintenance until the runbook starts it), for comparison: every request fails from the crash until the standby is in ` +
              `rotation, p50 ${p50(cold, (r) => r.trafficRestoredMs)} after the crash; HAProxy has nowhere to retry.`,
          ]
        : []),
      "Temporal's server fires timers shorter than a second after about a second (history.timerProcessorMaxTimeShift, default 1s, on the dev server and the cluster alike), " +
        'which is why the confirmation interval is written as 1s rather than a shorter one that would not be honoured.',
      `Load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the runs on ${cpus().length} cores: other work on the machine stretches every step.`,
    ],
  };
}
