import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ENV } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { initialSearchAttributes } from '../intake/handoff';
import { incidentIdFor } from '../schemas/identifiers';
import { startComponentProcess } from '../stack/component-process';
import type { ManagedProcess } from '../stack/managed-process';
import { freePorts } from '../stack/ports';
import { waitFor } from '../stack/wait-for';
import type { BenchStack } from './bench-stack';
import { benchFault, incidentInputFor, noopRunbookYaml, snapshotFromYaml } from './fixtures';
import { eachBounded, readCpuSeconds, readMachineCpu } from './proc-stats';
import { formatRatio } from './stats';
import type { BenchContext, BenchRow, BenchSection } from './report-types';
import type { RunbookSnapshot } from '../schemas/incident-input';

/** Worker processes per measurement, in report order; the first is the floor. */
const WORKER_COUNTS = [1, 2, 4] as const;
/** Steps of each incident's runbook: a short workflow with a few activities. */
const STEPS = 3;
/** How long each worker count is measured, after its warm-up. */
const WINDOW_S = 60;
const WARM_UP_S = 10;
/**
 * Incidents kept open at once, the same for every worker count: enough to
 * keep four workers busy, few enough to stay inside each worker's workflow
 * cache. (A backlog of thousands started up front measures something else:
 * every worker takes new incidents' first tasks while the ones already open
 * are evicted and replayed, and hardly any incident finishes.)
 */
const IN_FLIGHT = 64;
/** How often the loop reads the completed count and tops the open incidents up. */
const TOP_UP_MS = 250;

interface Measured {
  workers: number;
  completed: number;
  seconds: number;
  /** Busy share of all cores over the window, percent. */
  machineCpuPct: number;
  /** CPU of the worker processes together over the window, percent of one core. */
  workersCpuPct: number;
  load1: number;
}

/**
 * Worker scaling: incidents running a short runbook (STEPS `true` command
 * steps, through the production worker and bundle) completed by 1, 2 and 4
 * worker processes polling the same task queue, on the same stack. A closed
 * loop keeps IN_FLIGHT incidents open whatever the worker count, so the rate
 * is bounded by the workers and what they share (the servers, the machine's
 * cores), not by the producer. The floor of each row is the one-worker rate
 * from the same run.
 */
export async function workerScaling(ctx: BenchContext): Promise<BenchSection> {
  const windowS = ctx.smoke ? 5 : WINDOW_S;
  const warmUpS = ctx.smoke ? 1 : WARM_UP_S;
  const counts = ctx.smoke ? ([1, 2] as const) : WORKER_COUNTS;
  const runbook = snapshotFromYaml(noopRunbookYaml(STEPS, 'bench-scaling'));
  const stack = await ctx.stacks.start();
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  const results: Measured[] = [];
  try {
    for (const workers of counts) {
      const m = await measure(ctx, stack, client, runbook, workers, warmUpS, windowS);
      ctx.log(`${workers} worker(s): ${m.completed} incidents in ${m.seconds.toFixed(1)} s = ${(m.completed / m.seconds).toFixed(1)}/s; machine CPU ${m.machineCpuPct.toFixed(0)} % of ${cpus().length} cores`);
      results.push(m);
    }
  } finally {
    await connection.close().catch(() => undefined);
    await stack.stop();
  }
  return section(results, windowS, warmUpS, stack.kind);
}

async function measure(ctx: BenchContext, stack: BenchStack, client: Client, runbook: RunbookSnapshot, workers: number, warmUpS: number, windowS: number): Promise<Measured> {
  const taskQueue = `bench-scaling-${workers}`;
  const completed = async (): Promise<number> => (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`)).count;
  const failed = async (): Promise<number> =>
    (await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus != "Running" AND ExecutionStatus != "Completed"`)).count;
  let started = 0;
  const startMore = (count: number): Promise<void> =>
    eachBounded(count, 16, async () => {
      const i = started++;
      const event = benchFault(`scaling-${workers}-${i}`, `scaling-${workers}-${i}`);
      await client.workflow.start('incident', {
        workflowId: incidentIdFor(event.service, event.target),
        taskQueue,
        args: [incidentInputFor(event, runbook)],
        typedSearchAttributes: initialSearchAttributes(event, runbook),
      });
    });

  const ports = await freePorts(workers);
  ctx.log(`${workers} worker(s): starting ${workers} workers/worker.ts on ${taskQueue}`);
  const launched = await Promise.allSettled(
    ports.map((port, i) =>
      startComponentProcess({
        name: `scaling-worker-${workers}-${i + 1}`,
        entry: 'workers/worker.ts',
        env: { ...stack.env, [ENV.taskQueue]: taskQueue, [ENV.workerMetricsPort]: String(port), [ENV.logLevel]: 'warn' },
        logDir: join(ctx.workDir, 'logs'),
        healthPort: port,
      }),
    ),
  );
  const procs: ManagedProcess[] = launched.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    for (const r of launched) if (r.status === 'rejected') throw r.reason;
    /** Keeps IN_FLIGHT incidents open until `untilMs` (performance clock); returns the completed count last read. */
    const run = async (untilMs: number): Promise<number> => {
      let done = await completed();
      while (performance.now() < untilMs) {
        for (const p of procs) if (!p.isRunning()) throw new Error(`${p.name} exited; see ${p.logFile}`);
        await startMore(Math.max(0, done + IN_FLIGHT - started));
        await new Promise((r) => setTimeout(r, TOP_UP_MS));
        done = await completed();
      }
      return done;
    };
    ctx.log(`${workers} worker(s): ${IN_FLIGHT} incidents open at a time; after the first completes, warming up ${warmUpS} s, then counting for ${windowS} s`);
    // The first incidents wait for every worker to load the bundle and fill its caches; that is start-up, not throughput.
    await startMore(IN_FLIGHT);
    await waitFor(`a first incident on ${taskQueue} to complete`, 180_000, async () => {
      for (const p of procs) if (!p.isRunning()) throw new Error(`${p.name} exited; see ${p.logFile}`);
      return (await completed()) > 0;
    }, TOP_UP_MS);
    const start = await run(performance.now() + warmUpS * 1_000);
    const cpu0 = readMachineCpu();
    const workerCpu0 = procs.reduce((sum, p) => sum + readCpuSeconds(p.pid), 0);
    const t0 = performance.now();
    const done = await run(t0 + windowS * 1_000);
    const seconds = (performance.now() - t0) / 1_000;
    const cpu1 = readMachineCpu();
    const workerCpu1 = procs.reduce((sum, p) => sum + readCpuSeconds(p.pid), 0);
    const load1 = loadavg()[0] ?? 0;
    const bad = await failed();
    if (bad > 0) throw new Error(`${bad} benchmark incidents on ${taskQueue} closed other than completed; the rate would not be of healed work`);
    if (done - start <= 0) throw new Error(`no incident on ${taskQueue} completed within ${windowS} s; see ${procs[0]?.logFile ?? 'the worker logs'}`);
    return {
      workers,
      completed: done - start,
      seconds,
      machineCpuPct: ((cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total)) * 100,
      workersCpuPct: ((workerCpu1 - workerCpu0) / seconds) * 100,
      load1,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

function section(results: readonly Measured[], windowS: number, warmUpS: number, kind: BenchStack['kind']): BenchSection {
  const base = results[0];
  if (!base) throw new Error('worker scaling measured nothing');
  const rate = (m: Measured): number => m.completed / m.seconds;
  const fmt = (perSecond: number): string => `${perSecond.toFixed(1)} incidents/s`;
  const cores = cpus().length;
  const rows: BenchRow[] = results.map((m) => ({
    metric: `incidents/s, ${m.workers} worker${m.workers === 1 ? '' : 's'}`,
    value: fmt(rate(m)),
    floor: `${fmt(rate(base))} (1 worker)`,
    ratio: rate(m) / rate(base),
    ratioIs: 'speed-up',
  }));
  const notes = results.map(
    (m) =>
      `${m.workers} worker${m.workers === 1 ? '' : 's'}: ${m.completed.toLocaleString('en-US')} incidents completed in ${m.seconds.toFixed(1)} s; speed-up ${formatRatio(rate(m) / rate(base))}; ` +
      `machine CPU ${m.machineCpuPct.toFixed(0)} % busy of ${cores} cores, the workers together ${m.workersCpuPct.toFixed(0)} % of one core, load average ${m.load1.toFixed(1)} at the window's end.`,
  );
  notes.push(
    `Every process runs on the same ${cores}-core machine: the workers, the Temporal server, ${kind === 'cluster' ? 'PostgreSQL, the three NATS nodes' : 'NATS'} and this benchmark share its CPU. ` +
      'Once the cores are busy, another worker adds polls and contention but no cycles, so the speed-up here is bounded by CPU, not by the workers or by Temporal; on separate hosts each worker brings its own cores.',
  );
  return {
    id: 'worker-scaling',
    title: 'Worker scaling',
    method:
      `Incidents for distinct targets, each running a ${STEPS}-step runbook of \`true\` command steps (effect ledger, guards, audit events and search attributes as in production), ` +
      `on one task queue served by 1, 2 or 4 \`workers/worker.ts\` processes (production bundle, default settings), each count on a fresh queue of the same stack. ` +
      `A closed loop in the benchmark process keeps ${IN_FLIGHT} incidents open whatever the worker count: every ${TOP_UP_MS} ms it reads the completed count from Temporal's visibility and starts as many new incidents (\`client.workflow.start\`) as have completed. ` +
      `After ${warmUpS} s of warm-up, completions are counted for ${windowS} s. ` +
      'Floor: the one-worker rate from the same run; the ratio is the speed-up, our rate over it.',
    rows,
    notes,
  };
}
