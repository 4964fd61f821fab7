import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { submitDecision } from '../api/decisions';
import { ENV } from '../config/config';
import { decisionKeyPath, readDecisionKey } from '../config/decision-key';
import { initialSearchAttributes } from '../intake/handoff';
import { incidentIdFor, ServiceId, TargetId } from '../schemas/identifiers';
import { SA } from '../schemas/search-attributes';
import { startComponentProcess } from '../stack/component-process';
import type { ManagedProcess } from '../stack/managed-process';
import { waitFor } from '../stack/wait-for';
import { BENCH_SERVICE, benchFault, incidentInputFor, runbookHead, snapshotFromYaml } from './fixtures';
import { epochNowMs, openLoop } from './open-loop';
import { eachBounded, readCpuSeconds } from './proc-stats';
import { formatMs, formatRatio, formatSummary, summarize } from './stats';
import { floorApprove } from './workflows/waiting-floor';
import type { BenchStack } from './bench-stack';
import type { BenchContext, BenchRow, BenchSection, LatencySummary } from './report-types';
import type { RunbookSnapshot } from '../schemas/incident-input';
import { temporalConnectOptions } from '../config/temporal-connection';

/** Workflows opened per second, open loop. */
const RATE = 100;
/** Approvals in flight at once while delivering. */
const APPROVAL_CONCURRENCY = 16;
/** Describe calls in flight at once while checking that workflows are parked. */
const CHECK_CONCURRENCY = 16;
/** The step every benchmark incident waits at. */
const GATED_STEP = 'gated';
/** Who approves; without a roster file the product accepts any authenticated identity. */
const APPROVER = 'bench-approver';
/** The worker's memory target for 1,000 waiting incidents. */
const RSS_TARGET_BYTES = 2 ** 30;

/** A runbook whose only step waits for approval, then runs `true`. */
export function approvalRunbookYaml(): string {
  return [
    ...runbookHead('bench-approval'),
    `  - id: ${GATED_STEP}`,
    '    action:',
    '      kind: command',
    '      argv: ["true"]',
    '    approval:',
    '      approvers: [oncall]',
    '      min_approvals: 1',
    '      timeout: 24h',
    '      on_timeout: reject',
    '',
  ].join('\n');
}

type Side = 'ours' | 'floor';

/** What one worker process showed with `n` workflows waiting on it. */
interface SideResult {
  n: number;
  /** RSS once started and settled, before any workflow (bytes). */
  rssEmpty: number;
  /** RSS with all n waiting, after settling, at the end of the idle window (bytes). */
  rssIdle: number;
  /** Peak RSS over the process's life up to the end of the idle window (VmHWM, bytes). */
  rssPeak: number;
  /** CPU over the idle window, percent of one core. */
  idleCpuPct: number;
  /** Time from the first workflow started to all n parked. */
  parkMs: number;
  /** First approval sent to the last one acknowledged. */
  deliveryMs: number;
  perApproval: LatencySummary;
  /** First approval sent to all n workflows closed. */
  closedMs: number;
  /** Worker CPU from the first approval to all closed, percent of one core. */
  deliveryCpuPct: number;
  /** Events in one closed workflow's history: the work each one did. */
  historyLength: number;
}

interface Timing {
  settleMs: number;
  idleWindowMs: number;
  parkDeadlineMs: number;
}

/**
 * Waiting incidents: N incidents parked at an approval gate on one worker
 * process (our production worker with the pre-built bundle), its RSS and idle
 * CPU read from /proc, then one approval delivered to each through the
 * approval API's `decideApproval` path. The floor is a hand-written workflow
 * that waits for one Update on a minimal worker process, run the same way.
 */
export async function waitingIncidents(ctx: BenchContext): Promise<BenchSection> {
  const counts = ctx.smoke ? [20, 40] : [1_000, 2_000];
  const timing: Timing = ctx.smoke
    ? { settleMs: 1_000, idleWindowMs: 2_000, parkDeadlineMs: 120_000 }
    : { settleMs: 10_000, idleWindowMs: 30_000, parkDeadlineMs: 600_000 };
  const runbook = snapshotFromYaml(approvalRunbookYaml());
  ctx.log('bundling the floor workflow');
  const floorBundle = join(ctx.workDir, 'waiting-floor-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/waiting-floor'), logger: new DefaultLogger('WARN') });
  writeFileSync(floorBundle, code);
  const stack = await ctx.stacks.start();
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  const results: { ours: SideResult; floor: SideResult }[] = [];
  try {
    for (const n of counts) {
      const ours = await measureSide(ctx, stack, client, 'ours', n, timing, runbook, floorBundle);
      const floor = await measureSide(ctx, stack, client, 'floor', n, timing, runbook, floorBundle);
      results.push({ ours, floor });
    }
  } finally {
    await connection.close().catch(() => undefined);
    await stack.stop();
  }
  return section(results, timing);
}

async function measureSide(
  ctx: BenchContext,
  stack: BenchStack,
  client: Client,
  side: Side,
  n: number,
  timing: Timing,
  runbook: RunbookSnapshot,
  floorBundle: string,
): Promise<SideResult> {
  const log = (line: string): void => ctx.log(`${side} n=${n}: ${line}`);
  const taskQueue = `bench-waiting-${side}-${n}`;
  const entry = side === 'ours' ? 'workers/worker.ts' : 'bench/floor-worker.ts';
  const env: NodeJS.ProcessEnv = { ...stack.env, [ENV.taskQueue]: taskQueue, ...(side === 'floor' ? { [ENV.workflowBundle]: floorBundle } : {}) };
  log(`starting ${entry}`);
  const proc = await startComponentProcess({ name: `${side}-worker-${n}`, entry, env, logDir: join(ctx.workDir, 'logs'), healthPort: stack.config.workerMetricsPort });
  try {
    assertIsEntry(proc, entry);
    await pause(timing.settleMs);
    const rssEmpty = readMemory(proc.pid).rss;
    const ids = Array.from({ length: n }, (_, i) => (side === 'ours' ? incidentIdFor(ServiceId.parse(BENCH_SERVICE), TargetId.parse(`waiting-${n}-${i}`)) : `waiting-floor/${n}-${i}`));

    log(`opening ${n} at ${RATE}/s`);
    const openedAt = epochNowMs();
    await openLoop(n, RATE, async (i) => {
      const workflowId = ids[i] as string;
      if (side === 'floor') {
        await client.workflow.start('waitingFloor', { workflowId, taskQueue, args: [] });
        return;
      }
      const event = benchFault(`waiting-${n}-${i}`, `waiting-${n}-${i}`);
      await client.workflow.start('incident', {
        workflowId,
        taskQueue,
        args: [incidentInputFor(event, runbook)],
        typedSearchAttributes: initialSearchAttributes(event, runbook),
      });
    });
    if (side === 'ours') {
      const query = `TaskQueue = "${taskQueue}" AND ${SA.incidentStatus.name} = "awaiting_approval"`;
      await waitFor(`${n} incidents awaiting approval`, timing.parkDeadlineMs, async () => (await client.workflow.count(query)).count >= n, 500);
    }
    await waitParked(client, side, ids, timing.parkDeadlineMs);
    const parkMs = epochNowMs() - openedAt;
    log(`all ${n} parked after ${formatMs(parkMs)}; settling ${formatMs(timing.settleMs)}, then idle window ${formatMs(timing.idleWindowMs)}`);

    await pause(timing.settleMs);
    const cpu0 = readCpuSeconds(proc.pid);
    const t0 = epochNowMs();
    await pause(timing.idleWindowMs);
    const cpu1 = readCpuSeconds(proc.pid);
    const windowS = (epochNowMs() - t0) / 1_000;
    const memory = readMemory(proc.pid);
    const idleCpuPct = ((cpu1 - cpu0) / windowS) * 100;
    log(`RSS ${formatMiB(memory.rss)} (empty ${formatMiB(rssEmpty)}, peak ${formatMiB(memory.hwm)}), idle CPU ${idleCpuPct.toFixed(2)} %`);

    log(`delivering ${n} approvals, ${APPROVAL_CONCURRENCY} at a time`);
    const latencies: number[] = [];
    const decisionKey = readDecisionKey(decisionKeyPath(stack.config));
    const deliveryStart = epochNowMs();
    const deliveryCpu0 = readCpuSeconds(proc.pid);
    await eachBounded(n, APPROVAL_CONCURRENCY, async (i) => {
      const id = ids[i] as string;
      const t = epochNowMs();
      if (side === 'ours') {
        const reply = await submitDecision(client, id, APPROVER, { verdict: 'approve', reason: 'benchmark', step: GATED_STEP }, { channel: 'bench', decisionKey });
        if (reply.status !== 200 || reply.body.ack?.outcome !== 'approve') throw new Error(`approval of ${id} not taken: ${reply.status} ${JSON.stringify(reply.body)}`);
      } else {
        await client.workflow.getHandle(id).executeUpdate(floorApprove, { args: [APPROVER] });
      }
      latencies.push(epochNowMs() - t);
    });
    const deliveryMs = epochNowMs() - deliveryStart;
    const closedQuery = `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`;
    await waitFor(`${n} ${side} workflows to close`, timing.parkDeadlineMs, async () => {
      if (!proc.isRunning()) throw new Error(`${proc.name} exited; see ${proc.logFile}`);
      return (await client.workflow.count(closedQuery)).count >= n;
    }, 250);
    const closedMs = epochNowMs() - deliveryStart;
    const deliveryCpuPct = ((readCpuSeconds(proc.pid) - deliveryCpu0) / (closedMs / 1_000)) * 100;
    const historyLength = (await client.workflow.getHandle(ids[0] as string).describe()).historyLength;
    const perApproval = summarize(latencies);
    log(`delivered in ${formatMs(deliveryMs)} (${formatSummary(perApproval)}); all closed after ${formatMs(closedMs)}`);
    return { n, rssEmpty, rssIdle: memory.rss, rssPeak: memory.hwm, idleCpuPct, parkMs, deliveryMs, perApproval, closedMs, deliveryCpuPct, historyLength };
  } finally {
    await proc.stop();
  }
}

/**
 * Waits until every workflow is parked: its first tasks done, no workflow
 * task or activity pending, and (ours) its status says it waits for approval.
 * Reads the server only, so the check costs the worker nothing.
 */
async function waitParked(client: Client, side: Side, ids: readonly string[], deadlineMs: number): Promise<void> {
  let pending = [...ids];
  const parked = async (id: string): Promise<boolean> => {
    const desc = await client.workflow.getHandle(id).describe();
    if (desc.status.name !== 'RUNNING') throw new Error(`${id} is ${desc.status.name} instead of waiting`);
    const raw = desc.raw;
    if (raw.pendingWorkflowTask || (raw.pendingActivities?.length ?? 0) > 0 || (desc.historyLength ?? 0) < 4) return false;
    return side === 'floor' || desc.typedSearchAttributes.get(SA.incidentStatus) === 'awaiting_approval';
  };
  await waitFor(`${ids.length} ${side} workflows to park`, deadlineMs, async () => {
    const still: string[] = [];
    await eachBounded(pending.length, CHECK_CONCURRENCY, async (i) => {
      const id = pending[i] as string;
      if (!(await parked(id))) still.push(id);
    });
    pending = still;
    return pending.length === 0;
  }, 500);
}

/** A measurement window, not a wait for a condition: the benchmark observes the worker over a fixed time. */
function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Refuses to measure a wrapper: the pid must be the node process running the entry itself. */
function assertIsEntry(proc: ManagedProcess, entry: string): void {
  const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
  if (!argv[0]?.endsWith('node') || !argv.some((a) => a.endsWith(entry))) throw new Error(`pid ${proc.pid} is not the node process of ${entry}: ${argv.join(' ')}`);
}

/** Resident and peak resident set size in bytes, from /proc/<pid>/status. */
function readMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1_024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

const formatMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const formatKiB = (bytes: number): string => `${(bytes / 1_024).toFixed(1)} KiB`;
const formatPct = (pct: number): string => `${pct.toFixed(2)} %`;

function section(results: readonly { ours: SideResult; floor: SideResult }[], timing: Timing): BenchSection {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const costRow = (metric: string, o: number, f: number, fmt: (v: number) => string, extra: Partial<BenchRow> = {}): BenchRow => ({
    metric,
    value: fmt(o),
    floor: fmt(f),
    ...(f > 0 ? { ratio: o / f } : {}),
    ...extra,
  });
  for (const { ours, floor } of results) {
    const label = ours.n.toLocaleString('en-US');
    const rssTarget = ours.n === 1_000 ? { target: '< 1 GiB', met: ours.rssIdle < RSS_TARGET_BYTES } : {};
    rows.push(costRow(`worker RSS, ${label} waiting`, ours.rssIdle, floor.rssIdle, formatMiB, rssTarget));
    rows.push(costRow(`RSS per waiting incident, ${label} waiting`, (ours.rssIdle - ours.rssEmpty) / ours.n, (floor.rssIdle - floor.rssEmpty) / floor.n, formatKiB));
    rows.push(costRow(`worker peak RSS, ${label} opened`, ours.rssPeak, floor.rssPeak, formatMiB));
    rows.push(costRow(`idle CPU, ${label} waiting`, ours.idleCpuPct, floor.idleCpuPct, formatPct));
    rows.push(costRow(`approval delivery to all ${label}`, ours.deliveryMs, floor.deliveryMs, formatMs));
    rows.push(costRow(`per-approval p50, ${label}`, ours.perApproval.p50, floor.perApproval.p50, formatMs));
    rows.push(costRow(`per-approval p99, ${label}`, ours.perApproval.p99, floor.perApproval.p99, formatMs));
    rows.push(costRow(`per-approval max, ${label}`, ours.perApproval.max, floor.perApproval.max, formatMs));
    notes.push(
      `n=${label}: empty worker RSS ours ${formatMiB(ours.rssEmpty)}, floor ${formatMiB(floor.rssEmpty)}; ` +
        `all parked ${formatMs(ours.parkMs)} (floor ${formatMs(floor.parkMs)}) after the first start; ` +
        `all closed ${formatMs(ours.closedMs)} (floor ${formatMs(floor.closedMs)}) after the first approval, ` +
        `with the worker at ${formatPct(ours.deliveryCpuPct)} (floor ${formatPct(floor.deliveryCpuPct)}) of one core meanwhile; ` +
        `history events per workflow ours ${ours.historyLength}, floor ${floor.historyLength}; RSS ratio ${formatRatio(ours.rssIdle / floor.rssIdle)}.`,
    );
  }
  notes.push(
    'Before parking, each incident runs the real pre-gate activities on the same worker (audit events to JetStream, the pause guard, roster resolution, the approval notification); the floor runs none. ' +
      'Our worker also holds a Temporal client connection and a NATS connection that the floor worker does not.',
    'After its approval each incident goes on with its remaining work on the same worker (the decision audit event, the `true` command step, step and close audit events) while later approvals arrive, so delivery competes with that work; the floor workflow returns at once.',
    "Idle CPU is user + system time of the worker process (all threads) from /proc/<pid>/stat, as a percentage of one core; it includes the SDK's long polls.",
    'RSS per waiting incident = (RSS with N waiting − RSS of the same worker before any workflow) / N.',
  );
  return {
    id: 'waiting-incidents',
    title: 'Waiting incidents',
    method:
      `For each N, a fresh worker process on its own task queue (\`node --import tsx\`, production mode with a pre-built bundle; RSS and CPU read from /proc of that node process). ` +
      `Ours: \`workers/worker.ts\` with the product bundle; N incidents started with \`client.workflow.start\` at ${RATE}/s (open loop), each on a one-step runbook whose step needs approval (no roster file, as by default), ` +
      'until every incident reports `awaiting_approval` and has no workflow task or activity pending. ' +
      'Floor: `bench/floor-worker.ts` with a bundle of only `bench/workflows/waiting-floor.ts`, a workflow that waits on a `condition` for one Update and returns, started the same way. ' +
      `After ${formatMs(timing.settleMs)} of settling, CPU is measured over ${formatMs(timing.idleWindowMs)} and RSS read at its end. ` +
      `Then one approval per workflow, ${APPROVAL_CONCURRENCY} in flight: ours through the approval API's \`submitDecision\` (the \`decideApproval\` Update, step named), the floor's Update directly; per-approval latency is call to acknowledgement.`,
    rows,
    notes,
  };
}
