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
import { approvalSplit, formatActivities, type ApprovalCall, type ApprovalSplit } from './approval-split';
import { moduleCopyBytes } from './module-copies';
import { temporal } from '@temporalio/proto';
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
/** Targets, as ratios to the floor of the same run. */
const TARGET = { delivery: 2, p99: 3, rss: 1.3 } as const;
/** The count the RSS target applies to. */
const RSS_TARGET_N = 2_000;
/** Copies of the workflow modules evaluated to measure what one costs. */
const MODULE_COPIES = 200;
/** History reads in flight at once while splitting the approvals. */
const HISTORY_CONCURRENCY = 8;

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
  /** One waiting workflow's history once parked: events and encoded bytes. */
  parkedHistory: { events: number; bytes: number; markers: number; upserts: number };
  /** V8 heap used and external memory of the main thread with all n waiting (bytes), as the process reports them. */
  heapUsed: number;
  external: number;
  /** V8 heap used of the same worker before any workflow (bytes). */
  heapEmpty: number;
  split: ApprovalSplit;
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
  const copies = { ours: moduleCopyBytes(ctx.workflowBundle, MODULE_COPIES), floor: moduleCopyBytes(floorBundle, MODULE_COPIES) };
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
  return section(results, timing, copies);
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
    const heapEmpty = (await readHeap(side, stack.config.workerMetricsPort)).heapUsed;
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
    const parked = await client.workflow.getHandle(ids[0] as string).fetchHistory();
    const kinds = (type: temporal.api.enums.v1.EventType): number => (parked.events ?? []).filter((e) => e.eventType === type).length;
    const parkedHistory = {
      events: parked.events?.length ?? 0,
      bytes: temporal.api.history.v1.History.encode(parked).finish().length,
      markers: kinds(temporal.api.enums.v1.EventType.EVENT_TYPE_MARKER_RECORDED),
      upserts: kinds(temporal.api.enums.v1.EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),
    };
    log(`all ${n} parked after ${formatMs(parkMs)}; settling ${formatMs(timing.settleMs)}, then idle window ${formatMs(timing.idleWindowMs)}`);

    await pause(timing.settleMs);
    const cpu0 = readCpuSeconds(proc.pid);
    const t0 = epochNowMs();
    await pause(timing.idleWindowMs);
    const cpu1 = readCpuSeconds(proc.pid);
    const windowS = (epochNowMs() - t0) / 1_000;
    const memory = readMemory(proc.pid);
    const heap = await readHeap(side, stack.config.workerMetricsPort);
    const idleCpuPct = ((cpu1 - cpu0) / windowS) * 100;
    log(`RSS ${formatMiB(memory.rss)} (empty ${formatMiB(rssEmpty)}, peak ${formatMiB(memory.hwm)}), V8 heap ${formatMiB(heap.heapUsed)} (empty ${formatMiB(heapEmpty)}), external ${formatMiB(heap.external)}, idle CPU ${idleCpuPct.toFixed(2)} %`);

    log(`delivering ${n} approvals, ${APPROVAL_CONCURRENCY} at a time`);
    const latencies: number[] = [];
    const calls = new Map<string, ApprovalCall>();
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
      const ackedAt = epochNowMs();
      latencies.push(ackedAt - t);
      calls.set(id, { sentAt: t, ackedAt });
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
    log(`delivered in ${formatMs(deliveryMs)} (${formatSummary(perApproval)}); all closed after ${formatMs(closedMs)}; reading ${n} histories`);
    const split = await approvalSplit(client, calls, HISTORY_CONCURRENCY);
    log(`handler task after ${formatSummary(split.toHandlerTask)}; handler ${formatSummary(split.handler)}; after approval ${formatSummary(split.afterApproval)}`);
    return { n, rssEmpty, rssIdle: memory.rss, rssPeak: memory.hwm, idleCpuPct, parkMs, deliveryMs, perApproval, closedMs, deliveryCpuPct, historyLength, parkedHistory, heapUsed: heap.heapUsed, external: heap.external, heapEmpty, split };
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

/**
 * The worker's V8 heap in use and its external memory, as the process itself
 * reports them: ours on its Prometheus page (prom-client's default metrics),
 * the floor on its /memory page.
 */
async function readHeap(side: Side, port: number): Promise<{ heapUsed: number; external: number }> {
  if (side === 'floor') {
    const m = (await (await fetch(`http://127.0.0.1:${port}/memory`)).json()) as { heapUsed: number; external: number };
    return { heapUsed: m.heapUsed, external: m.external };
  }
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauge = (name: string): number => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} on the worker's /metrics`);
    return Number(m[1]);
  };
  return { heapUsed: gauge('nodejs_heap_size_used_bytes'), external: gauge('nodejs_external_memory_bytes') };
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
const count = (tally: Record<string, number>): number => Object.values(tally).reduce((a, b) => a + b, 0);

type ModuleCopies = Record<Side, ReturnType<typeof moduleCopyBytes>>;

function section(results: readonly { ours: SideResult; floor: SideResult }[], timing: Timing, copies: ModuleCopies): BenchSection {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const costRow = (metric: string, o: number, f: number, fmt: (v: number) => string, extra: Partial<BenchRow> = {}): BenchRow => ({
    metric,
    value: fmt(o),
    floor: fmt(f),
    ...(f > 0 ? { ratio: o / f } : {}),
    ...extra,
  });
  rows.push(costRow('workflow module copies per cached workflow (reusable V8 context)', copies.ours.perWorkflow, copies.floor.perWorkflow, formatKiB));
  const within = (o: number, f: number, limit: number): { target: string; met: boolean } => ({ target: `≤ ${limit}× floor`, met: f > 0 && o / f <= limit });
  for (const { ours, floor } of results) {
    const label = ours.n.toLocaleString('en-US');
    const rssTarget = ours.n === RSS_TARGET_N ? within(ours.rssIdle, floor.rssIdle, TARGET.rss) : {};
    rows.push(costRow(`worker RSS, ${label} waiting`, ours.rssIdle, floor.rssIdle, formatMiB, rssTarget));
    rows.push(costRow(`RSS per waiting incident, ${label} waiting`, (ours.rssIdle - ours.rssEmpty) / ours.n, (floor.rssIdle - floor.rssEmpty) / floor.n, formatKiB));
    rows.push(costRow(`main-thread V8 heap per waiting incident, ${label} waiting`, (ours.heapUsed - ours.heapEmpty) / ours.n, (floor.heapUsed - floor.heapEmpty) / floor.n, formatKiB));
    rows.push(costRow(`worker peak RSS, ${label} opened`, ours.rssPeak, floor.rssPeak, formatMiB));
    rows.push(costRow(`idle CPU, ${label} waiting`, ours.idleCpuPct, floor.idleCpuPct, formatPct));
    rows.push(costRow(`approval delivery to all ${label}`, ours.deliveryMs, floor.deliveryMs, formatMs, within(ours.deliveryMs, floor.deliveryMs, TARGET.delivery)));
    rows.push(costRow(`per-approval p50, ${label}`, ours.perApproval.p50, floor.perApproval.p50, formatMs));
    const p99 = within(ours.perApproval.p99, floor.perApproval.p99, TARGET.p99);
    rows.push(costRow(`per-approval p99, ${label}`, ours.perApproval.p99, floor.perApproval.p99, formatMs, { ...p99, target: `p99 ${p99.target}` }));
    rows.push(costRow(`per-approval max, ${label}`, ours.perApproval.max, floor.perApproval.max, formatMs));
    const o = ours.split;
    const f = floor.split;
    rows.push(costRow(`approval split p50, ${label}: call → handler's workflow task started`, o.toHandlerTask.p50, f.toHandlerTask.p50, formatMs));
    rows.push(costRow(`approval split p50, ${label}: handler (task started → Update completed)`, o.handler.p50, f.handler.p50, formatMs));
    if (o.handlerActivityWait && o.handlerActivityRun) {
      rows.push({ metric: `approval split p50, ${label}: handler's activity queued (scheduled → started)`, value: formatMs(o.handlerActivityWait.p50) });
      rows.push({ metric: `approval split p50, ${label}: handler's activity ran (started → completed)`, value: formatMs(o.handlerActivityRun.p50) });
    }
    rows.push(costRow(`approval split p50, ${label}: Update completed → caller acknowledged`, o.ackReturn.p50, f.ackReturn.p50, formatMs));
    // The floor returns in the task that completes its Update, so a ratio to its zero would say nothing.
    rows.push({ metric: `approval split p50, ${label}: Update completed → workflow closed`, value: formatMs(o.afterApproval.p50), floor: formatMs(f.afterApproval.p50) });
    rows.push(costRow(`workflow task queued p50, ${label}: scheduled → started, from the handler's task on`, o.taskWait.p50, f.taskWait.p50, formatMs));
    notes.push(
      `n=${label}: empty worker RSS ours ${formatMiB(ours.rssEmpty)}, floor ${formatMiB(floor.rssEmpty)}; ` +
        `main-thread V8 heap used with all waiting ours ${formatMiB(ours.heapUsed)} (empty ${formatMiB(ours.heapEmpty)}, external ${formatMiB(ours.external)}), floor ${formatMiB(floor.heapUsed)} (empty ${formatMiB(floor.heapEmpty)}, external ${formatMiB(floor.external)}); ` +
        `all parked ${formatMs(ours.parkMs)} (floor ${formatMs(floor.parkMs)}) after the first start; ` +
        `all closed ${formatMs(ours.closedMs)} (floor ${formatMs(floor.closedMs)}) after the first approval, ` +
        `with the worker at ${formatPct(ours.deliveryCpuPct)} (floor ${formatPct(floor.deliveryCpuPct)}) of one core meanwhile; ` +
        `history events per workflow ours ${ours.historyLength}, floor ${floor.historyLength} (while waiting ${ours.parkedHistory.events} events, ${formatKiB(ours.parkedHistory.bytes)} encoded; floor ${floor.parkedHistory.events}, ${formatKiB(floor.parkedHistory.bytes)}); RSS ratio ${formatRatio(ours.rssIdle / floor.rssIdle)}. ` +
        `Per approval, ours ran ${o.tasksBefore.toFixed(2)} workflow tasks and activities [${formatActivities(o.activitiesBefore)}] until the Update completed, ` +
        `then ${o.tasksAfter.toFixed(2)} tasks and [${formatActivities(o.activitiesAfter)}] until it closed (floor ${f.tasksBefore.toFixed(2)} and [${formatActivities(f.activitiesBefore)}], then ${f.tasksAfter.toFixed(2)}); ` +
        `split p99s ours: to handler task ${formatMs(o.toHandlerTask.p99)}, handler ${formatMs(o.handler.p99)}, ack return ${formatMs(o.ackReturn.p99)}.`,
    );
    const deliveryRatio = ours.deliveryMs / floor.deliveryMs;
    const p99Ratio = ours.perApproval.p99 / floor.perApproval.p99;
    if (deliveryRatio > TARGET.delivery || p99Ratio > TARGET.p99) {
      const after = o.tasksAfter + count(o.activitiesAfter);
      notes.push(
        `n=${label}, why delivery stays at ${formatRatio(deliveryRatio)} (target ≤ ${TARGET.delivery}×) and p99 at ${formatRatio(p99Ratio)} (≤ ${TARGET.p99}×): ` +
          `each approval puts ${(o.tasksBefore + count(o.activitiesBefore) + after).toFixed(1)} workflow tasks and activities on the server and the worker (floor ${(f.tasksBefore + f.tasksAfter).toFixed(1)}), ${after.toFixed(1)} of them after its acknowledgement, and later approvals queue behind that work: ` +
          `workflow tasks waited ${formatMs(o.taskWait.p50)} p50 from scheduled to started (floor ${formatMs(f.taskWait.p50)}) and reaching the handler's task took ${formatMs(o.toHandlerTask.p50)} (floor ${formatMs(f.toHandlerTask.p50)}), while the worker used ${formatPct(ours.deliveryCpuPct)} of one core, so the task queues and the server set the pace rather than the worker's CPU. ` +
          'What would move it: fewer tasks after each approval (since lean-close the decided notice goes in the same task as the step and the closing record in the audit write of the step; the audit write of the decision itself and the activity of the signature check remain), or approvals served ahead of that work (task queue priorities).',
      );
    }
    const rssRatio = ours.rssIdle / floor.rssIdle;
    if (ours.n === RSS_TARGET_N && rssRatio > TARGET.rss) {
      const perOurs = (ours.rssIdle - ours.rssEmpty) / ours.n;
      const perFloor = (floor.rssIdle - floor.rssEmpty) / floor.n;
      const mainThread = { ours: (ours.heapUsed - ours.heapEmpty) / ours.n, floor: (floor.heapUsed - floor.heapEmpty) / floor.n };
      const modules = copies.ours.perWorkflow - copies.floor.perWorkflow;
      notes.push(
        `n=${label}, why RSS stays at ${formatRatio(rssRatio)} (target ≤ ${TARGET.rss}×): a waiting incident costs ${formatKiB(perOurs)} against the floor's ${formatKiB(perFloor)}; ` +
          `of the ${formatKiB(perOurs - perFloor)} more, ${formatKiB(modules)} are the per-workflow module copies, and the main thread's heap grows by only ${formatKiB(mainThread.ours)} per incident (floor ${formatKiB(mainThread.floor)}); ` +
          `the rest is the workflow's own state in its context and the Rust core's machines for a history of ${ours.parkedHistory.events} events ` +
          `(${ours.parkedHistory.markers} markers, ${ours.parkedHistory.upserts} search-attribute upserts) against the floor's ${floor.parkedHistory.events}. ` +
          `With the empty worker at ${formatMiB(ours.rssEmpty)} (floor ${formatMiB(floor.rssEmpty)}), ${RSS_TARGET_N.toLocaleString('en-US')} incidents fit ${TARGET.rss}× the floor only at about ${formatKiB((TARGET.rss * floor.rssIdle - ours.rssEmpty) / ours.n)} each. ` +
          'What would move it: fewer events before the gate (patch markers retired once no incident predates them, status upserts folded together) and fewer per-workflow modules (workflow helpers without module state shared like engine/ and schemas/).',
      );
    }
  }
  notes.push(
    'Before parking, each incident runs the real pre-gate activities on the same worker (audit events to JetStream, the pause guard, roster resolution, the approval notification); the floor runs none. ' +
      'Our worker also holds a Temporal client connection and a NATS connection that the floor worker does not.',
    'After its approval each incident goes on with its remaining work on the same worker (the decision audit event, the `true` command step, step and close audit events) while later approvals arrive, so delivery competes with that work; the floor workflow returns at once.',
    "Idle CPU is user + system time of the worker process (all threads) from /proc/<pid>/stat, as a percentage of one core; it includes the SDK's long polls.",
    'RSS per waiting incident = (RSS with N waiting − RSS of the same worker before any workflow) / N.',
    `Workflow module copies: with a reusable V8 context the SDK evaluates every module of the bundle that is not loaded before the first workflow once per cached workflow (ours ${copies.ours.modules} modules, floor ${copies.floor.modules}); ` +
      `measured in this process by loading each bundle into a context that routes its module cache the same way and importing the workflow modules ${MODULE_COPIES} times (heap growth per copy after full collections).`,
    "Main-thread V8 heap is what the worker's main thread reports (activities, clients, the SDK's bridge); workflow code runs in the SDK's workflow thread, whose heap it does not include, so RSS per waiting incident minus this figure is the workflow thread's context plus the Rust core's cache of each workflow.",
    'Approval split: from each workflow\'s history (server clock) against the caller\'s send and acknowledgement times (same host). The handler\'s task is the workflow task whose completion accepted the Update; "handler" runs from its start to the Update\'s completed event, so it includes any activity or further task the handler awaited.',
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
