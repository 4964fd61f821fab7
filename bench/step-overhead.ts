import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import type { KV } from 'nats';
import { createActivities } from '../activities';
import { createAuditEventActivities } from '../activities/audit-events';
import { createGuardActivities, readPauseSwitch } from '../activities/guard-activities';
import { CONTROL_BUCKET } from '../schemas/control-bucket';
import { createApprovalActivities } from '../activities/notify-approvals';
import type { ActionRequest, ActionResult } from '../activities/types';
import { initialSearchAttributes } from '../intake/handoff';
import { createLogger } from '../observability/logger';
import { incidentIdFor } from '../schemas/identifiers';
import { benchFault, eventTimeMs, incidentInputFor, noopRunbookYaml, snapshotFromYaml } from './fixtures';
import { epochNowMs, openLoop } from './open-loop';
import { waitFor } from '../stack/wait-for';
import { formatMs, summarize } from './stats';
import type { BenchContext, BenchRow, BenchSection, LatencySummary } from './report-types';
import { temporalConnectOptions } from '../config/temporal-connection';

/** Steps per run. */
const STEPS = 10;
/** Runs started per second on each side: open loop; a run takes well under a second, so runs rarely overlap. */
const RATE = 1;
const TASK_QUEUE = 'bench-steps';

/**
 * Per-step overhead: an N-step runbook of no-op actions through the incident
 * interpreter (guards, state, audit events) against a hand-written workflow
 * calling N no-op activities, on the same worker. A step's cost is the time
 * from one step's activity starting to the next one's, measured inside the
 * activities, so both sides are timed the same way.
 */
export async function stepOverhead(ctx: BenchContext): Promise<BenchSection> {
  const runs = ctx.smoke ? 3 : Math.ceil(1_000 / (STEPS - 1)) + 1;
  const stack = await ctx.stacks.start();
  const nats = await stack.natsConnect('worker', { name: 'bench-steps' });
  const clientConnection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection: clientConnection, namespace: stack.config.namespace });
  const connection = await NativeConnection.connect(await temporalConnectOptions(stack.config));
  const starts = new Map<string, number[]>();
  const mark = (key: string): void => {
    const list = starts.get(key) ?? [];
    list.push(epochNowMs());
    starts.set(key, list);
  };
  try {
    ctx.log('bundling the product workflows with the floor workflow');
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflows/step-bench'), logger: quietLogger });
    let controlKv: KV | undefined;
    const control = async (): Promise<KV> => (controlKv ??= await nats.jetstream().views.kv(CONTROL_BUCKET));
    const logger = createLogger('bench-worker', 'warn');
    const worker = await Worker.create({
      connection,
      namespace: stack.config.namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: { code },
      activities: {
        ...createActivities({ logger, dryRun: false, services: {}, secretSource: { env: {} }, nats }),
        ...createGuardActivities({ client, taskQueue: TASK_QUEUE, control }),
        ...createApprovalActivities({ logger, rosterFile: undefined, nats }),
        ...createAuditEventActivities({ nats }),
        // The benchmark measures the interpreter, not what an action does; the pause switch is read as in production.
        runAction: async (req: ActionRequest): Promise<ActionResult> => {
          mark(req.incidentId);
          const pause = req.holdWhilePaused ? await readPauseSwitch(control) : { paused: false };
          return pause.paused ? { output: {}, dryRun: false, summary: 'held', held: pause } : { output: {}, dryRun: false, summary: 'no-op' };
        },
        noopStep: async (runId: string): Promise<void> => mark(runId),
      },
    });
    const runbook = snapshotFromYaml(noopRunbookYaml(STEPS));
    const ours: number[] = [];
    const floor: number[] = [];
    await worker.runUntil(async () => {
      // Started, never awaited with result(): long-polling results from this process slows task dispatch on the server for everyone.
      const startOurs = (tag: string, count: number): Promise<string[]> =>
        startAll(count, async (i) => {
          const event = benchFault(`steps-${tag}-${i}`, `steps-${tag}-${i}`);
          const handle = await client.workflow.start('incident', {
            workflowId: incidentIdFor(event.service, event.target),
            taskQueue: TASK_QUEUE,
            args: [incidentInputFor(event, runbook)],
            typedSearchAttributes: initialSearchAttributes(event, runbook),
          });
          return handle.workflowId;
        });
      const startFloor = (tag: string, count: number): Promise<string[]> =>
        startAll(count, async (i) => {
          const id = `floor-${tag}-${i}`;
          await client.workflow.start('stepFloor', { workflowId: id, taskQueue: TASK_QUEUE, args: [id, STEPS] });
          return id;
        });
      ctx.log('warming up');
      await closed(client, await startOurs('warm', 3));
      await closed(client, await startFloor('warm', 3));
      starts.clear();
      ctx.log(`hand-written floor: ${runs} runs of ${STEPS} no-op activities at ${RATE}/s`);
      floor.push(...(await closed(client, await startFloor('run', runs))));
      ctx.log(`interpreter: ${runs} runs of a ${STEPS}-step no-op runbook at ${RATE}/s`);
      ours.push(...(await closed(client, await startOurs('run', runs))));
    });
    const gaps = (prefix: string): number[] => [...starts.entries()].filter(([k]) => k.includes(prefix)).flatMap(([, t]) => t.slice(1).map((v, i) => v - (t[i] as number)));
    return section(summarize(gaps('steps-run-')), summarize(gaps('floor-run-')), summarize(ours), summarize(floor));
  } finally {
    await connection.close().catch(() => undefined);
    await clientConnection.close().catch(() => undefined);
    await nats.close().catch(() => undefined);
    await stack.stop();
  }
}

/** Starts `count` workflows open-loop at RATE per second; returns their ids. */
async function startAll(count: number, start: (i: number) => Promise<string>): Promise<string[]> {
  const ids: string[] = [];
  await openLoop(count, RATE, async (i) => {
    ids[i] = await start(i);
  });
  return ids;
}

/** Waits until every workflow has completed; returns each one's run time (start to completion, from its history). */
async function closed(client: Client, ids: readonly string[]): Promise<number[]> {
  const times: number[] = [];
  for (const id of ids) {
    const handle = client.workflow.getHandle(id);
    await waitFor(`${id} to complete`, 120_000, async () => (await handle.describe()).status.name !== 'RUNNING', 100);
    const { status } = await handle.describe();
    if (status.name !== 'COMPLETED') throw new Error(`${id} ended ${status.name}; the benchmark workflow must complete`);
    const events = (await handle.fetchHistory()).events ?? [];
    times.push(eventTimeMs(events[events.length - 1]?.eventTime) - eventTimeMs(events[0]?.eventTime));
  }
  return times;
}


const quietLogger = new DefaultLogger('WARN');

function section(step: LatencySummary, stepFloor: LatencySummary, run: LatencySummary, runFloor: LatencySummary): BenchSection {
  const row = (metric: string, o: number, f: number, target?: string, limit?: number): BenchRow => ({
    metric,
    value: formatMs(o),
    floor: formatMs(f),
    ratio: o / f,
    ...(target && limit !== undefined ? { target, met: o / f <= limit } : {}),
  });
  return {
    id: 'step-overhead',
    title: 'Per-step overhead',
    method:
      `Open loop at ${RATE} runs/s on one in-process worker. Ours: the incident workflow running a ${STEPS}-step runbook whose action activity is a no-op (guards, step state, audit events and search attributes as in production). ` +
      `Floor: a hand-written workflow calling ${STEPS} no-op activities in a row. Step time: from one step's activity starting to the next one's, timed inside the activities (n = gaps over all runs). Run time: WorkflowExecutionStarted to WorkflowExecutionCompleted in its history. Runs are started and polled with describe, never awaited with a long-polling result call, which slows task dispatch on the server.`,
    rows: [
      row('step p50', step.p50, stepFloor.p50, '≤ 1.3× floor', 1.3),
      row('step p99', step.p99, stepFloor.p99),
      row('step max', step.max, stepFloor.max),
      row(`run of ${STEPS} steps p50`, run.p50, runFloor.p50),
      row(`run of ${STEPS} steps p99`, run.p99, runFloor.p99),
    ],
    notes: [
      `Step samples: ours n=${step.n}, floor n=${stepFloor.n}; runs: n=${run.n} each.`,
      'Per step the interpreter schedules the same one activity as the floor: the pause switch is read inside that activity, and audit events are written behind the steps in batches by a separate activity, off the critical path.',
      'A run costs more than its steps: opening (guards, audit, search attributes) and closing (flushing the audit stream) add fixed work that the floor does not do.',
    ],
  };
}
