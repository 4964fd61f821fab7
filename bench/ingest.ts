import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { JetStreamManager, NatsConnection } from 'nats';
import { ENV, loadConfig } from '../config/config';
import { initialSearchAttributes } from '../intake/handoff';
import { incidentIdFor } from '../schemas/identifiers';
import { faultObserved } from '../workflows/messages';
import { DEAD_LETTER_STREAM, ensureJetStream, FAULTS_STREAM, INTAKE_CONSUMER, intakeConsumerConfig } from '../intake/streams';
import { createLogger } from '../observability/logger';
import { startComponentProcess } from '../stack/component-process';
import { waitFor } from '../stack/wait-for';
import { BENCH_SUBJECT, benchFault, encodeFault, incidentInputFor, noopRunbookYaml, snapshotFromYaml, writeRunbookDir } from './fixtures';
import { readCpuSeconds } from './proc-stats';
import { formatMs, formatRate } from './stats';
import { temporalServerOf, type BenchStack } from './bench-stack';
import type { BenchContext, BenchRow, BenchSection } from './report-types';
import { temporalConnectOptions } from '../config/temporal-connection';

/** How long our intake is measured in each mode. */
const WINDOW_S = 60;
/** Publishes in flight while preloading the backlog. */
const PRELOAD_IN_FLIGHT = 2_000;
/** Events per target in the coalescing mix: one in a hundred is new, 99% are repeats. */
const REPEATS_PER_TARGET = 100;
/** Targets failing at the same time in the coalescing mix, their events interleaved. */
const HOT_TARGETS = 10;

/** The intake's default number of hand-offs in flight. */
const INTAKE_CONCURRENCY = loadConfig({}, {}).intakeConcurrency;

/** The event mixes measured. */
type Mix = 'coalesced' | 'distinct';

interface Drain {
  handled: number;
  seconds: number;
}

/** What our intake did over its window: hand-offs to Temporal, their mean time, and its CPU. */
interface IntakeWork {
  handoffs: number;
  handoffSeconds: number;
  /** CPU seconds of the intake process over the window (all threads). */
  cpuSeconds: number;
}

/**
 * Ingest throughput: how many events per second the intake takes off a
 * JetStream backlog (validate, route, hand to Temporal, ack) for WINDOW_S,
 * against a bare consume-and-ack of the same messages.
 */
export async function ingest(ctx: BenchContext): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const windowS = ctx.smoke ? 3 : WINDOW_S;
  for (const mix of ['coalesced', 'distinct'] as const) {
    // A backlog the intake cannot finish within the window, so the rate is sustained, not a burst.
    const backlog = ctx.smoke ? 2_000 : mix === 'coalesced' ? 400_000 : 40_000;
    const result = await measureMix(ctx, mix, backlog, windowS, mix === 'distinct' ? Math.min(windowS, 20) : 0);
    const ours = result.ours.handled / result.ours.seconds;
    const floor = result.floor.handled / result.floor.seconds;
    rows.push({
      metric: mix === 'coalesced' ? 'events/s, 99% repeats (coalesced)' : 'events/s, all targets distinct',
      value: formatRate(ours),
      floor: formatRate(floor),
      ratio: floor / ours,
      ...(mix === 'coalesced' ? { target: '≥ 10,000/s', met: ours >= 10_000 } : {}),
    });
    if (result.startCapacity) {
      const cap = result.startCapacity.handled / result.startCapacity.seconds;
      rows.push({ metric: 'events/s, all targets distinct, against direct workflow starts', value: formatRate(ours), floor: formatRate(cap), ratio: cap / ours, target: '≥ 0.9× direct starts', met: ours / cap >= 0.9 });
      notes.push(
        `distinct: every event starts a workflow, so the rate is bounded by how fast ${temporalServerOf(ctx.stacks.kind)} starts workflows. ` +
          `The second distinct row's floor is ${INTAKE_CONCURRENCY} concurrent \`client.workflow.start\` calls (the intake's concurrency) from the benchmark process for ${result.startCapacity.seconds.toFixed(0)} s, on the same server after the run` +
          ` (${formatMs(perCallMs(result.startCapacity))} per call on average).`,
      );
    }
    if (result.signalCapacity) {
      const cap = result.signalCapacity.handled / result.signalCapacity.seconds;
      rows.push({ metric: 'events/s, all targets distinct, against direct signal-with-starts', value: formatRate(ours), floor: formatRate(cap), ratio: cap / ours });
      notes.push(
        `distinct: the third row's floor is the intake's own Temporal call made directly: ${INTAKE_CONCURRENCY} concurrent \`client.workflow.signalWithStart\` calls of new incidents for ${result.signalCapacity.seconds.toFixed(0)} s, after the direct starts ` +
          `(${formatMs(perCallMs(result.signalCapacity))} per call on average). A signal-with-start records the start and the signal with its fault event; against it, what the intake adds (JetStream, validation, the ack) shows alone.`,
      );
      if (result.startCapacity) {
        const starts = result.startCapacity.handled / result.startCapacity.seconds;
        notes.push(
          `distinct: ours is ${(ours / starts).toFixed(2)}× the direct starts and ${(ours / cap).toFixed(2)}× the direct signal-with-starts, with the intake process at ${((result.work.cpuSeconds / result.ours.seconds) * 100).toFixed(0)}% of one core and ${(result.work.handoffSeconds / result.ours.seconds).toFixed(1)} of its ${INTAKE_CONCURRENCY} calls in flight on average: ` +
            (result.work.handoffSeconds / result.ours.seconds >= 0.9 * INTAKE_CONCURRENCY && result.work.cpuSeconds / result.ours.seconds < 0.9
              ? 'its calls were nearly all waiting on the server, so the pace is the server\'s answer to a signal-with-start, not the intake. Only a cheaper call for a new incident would move the first ratio, and signal-with-start is what keeps racing intakes from opening two incidents for one target.'
              : 'its calls were not all waiting on the server, so part of the pace is the intake\'s own.'),
        );
      }
    }
    notes.push(
      `${mix}: our intake acked ${result.ours.handled.toLocaleString('en-US')} events in ${result.ours.seconds.toFixed(1)} s (${result.incidents.toLocaleString('en-US')} incidents); ` +
        `the bare consumer acked the same first ${result.floor.handled.toLocaleString('en-US')} messages in ${result.floor.seconds.toFixed(1)} s; backlog ${backlog.toLocaleString('en-US')}; nothing dead-lettered.`,
      workNote(mix, result.work, result.ours),
    );
  }
  notes.push(
    'coalesced: a target\'s events that queue up while its previous hand-off is in flight go to Temporal as one signal (up to 100 events), so a storm costs one call per target per round trip; every message is still acked only after Temporal accepted its signal.',
  );
  return {
    id: 'ingest',
    title: 'Ingest throughput',
    method:
      `A backlog of valid faults is published to the FAULTS stream first, then our intake process (one, default settings) consumes it for ${windowS} s: parse, validate, route, signal-with-start the incident, ack after Temporal accepted. ` +
      `Rate = events acked (read from the consumer's state) over the window. Two mixes: an alert storm with 99% repeats (${HOT_TARGETS} targets failing at a time, their events interleaved, ${REPEATS_PER_TARGET} events per target, then the next ${HOT_TARGETS}), and every event a new target. ` +
      'Floor: a fresh consumer with the same settings in the benchmark process that only acks, over the same first messages. No worker polls the task queue.',
    rows,
    notes,
  };
}

/**
 * Where the intake's window went: how many Temporal calls it made, how much
 * each carried and took, and how busy the process was. Calls in flight on
 * average = their total time over the window; with the intake's concurrency
 * bound, that says whether Temporal's answers or the intake's CPU set the pace.
 */
function workNote(mix: Mix, work: IntakeWork, ours: Drain): string {
  const perCall = work.handoffs > 0 ? ours.handled / work.handoffs : 0;
  const meanMs = work.handoffs > 0 ? (work.handoffSeconds / work.handoffs) * 1_000 : 0;
  return (
    `${mix}: ${work.handoffs.toLocaleString('en-US')} hand-offs to Temporal in the window, ${perCall.toFixed(1)} events each on average, taking ${formatMs(meanMs)} each on average ` +
    `(${(work.handoffSeconds / ours.seconds).toFixed(1)} in flight on average, at most ${INTAKE_CONCURRENCY}); the intake process used ${((work.cpuSeconds / ours.seconds) * 100).toFixed(0)}% of one core.`
  );
}

async function measureMix(ctx: BenchContext, mix: Mix, backlog: number, windowS: number, startCapacityS: number): Promise<{ ours: Drain; floor: Drain; work: IntakeWork; incidents: number; startCapacity?: Drain; signalCapacity?: Drain }> {
  const runbooksDir = writeRunbookDir(join(ctx.workDir, `runbooks-${mix}`), noopRunbookYaml(1));
  const stack = await ctx.stacks.start({ overrides: { runbooksDir } });
  const nc = await stack.natsConnect('admin', { name: 'bench-ingest' });
  try {
    const jsm = await nc.jetstreamManager();
    await ensureJetStream(jsm, createLogger('bench', 'warn'));
    ctx.log(`${mix}: preloading ${backlog.toLocaleString('en-US')} events`);
    const targets = mix === 'coalesced' ? Math.ceil(backlog / REPEATS_PER_TARGET) : backlog;
    await preload(nc, backlog, mix === 'coalesced' ? stormTarget : (i) => `t-${i}`);
    ctx.log(`${mix}: our intake for ${windowS} s`);
    const { drain: ours, work } = await drainWithIntake(stack, jsm, backlog, windowS);
    ctx.log(`${mix}: ${Math.round(ours.handled / ours.seconds)}/s; bare consume-and-ack of the same ${ours.handled} messages`);
    const floor = await bareDrain(nc, jsm, ours.handled);
    const dead = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
    if (dead > 0) throw new Error(`${dead} benchmark events were dead-lettered; the figures would not be about valid events`);
    const startCapacity = startCapacityS > 0 ? await directStarts(stack, startCapacityS, 'start') : undefined;
    const signalCapacity = startCapacityS > 0 ? await directStarts(stack, startCapacityS, 'signalWithStart') : undefined;
    return { ours, floor, work, incidents: Math.min(targets, ours.handled), ...(startCapacity ? { startCapacity } : {}), ...(signalCapacity ? { signalCapacity } : {}) };
  } finally {
    await nc.close().catch(() => undefined);
    await stack.stop();
  }
}

/** Event i of an alert storm: HOT_TARGETS targets at a time, each reported REPEATS_PER_TARGET times, then the next ones. */
function stormTarget(i: number): string {
  const wave = Math.floor(i / (HOT_TARGETS * REPEATS_PER_TARGET));
  return `t-${wave * HOT_TARGETS + (i % HOT_TARGETS)}`;
}

async function preload(nc: NatsConnection, count: number, targetOf: (i: number) => string): Promise<void> {
  const js = nc.jetstream();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    inFlight.push(js.publish(BENCH_SUBJECT, encodeFault(benchFault(`ev-${i}`, targetOf(i)))));
    if (inFlight.length >= PRELOAD_IN_FLIGHT) await Promise.all(inFlight.splice(0));
  }
  await Promise.all(inFlight);
}

async function acked(jsm: JetStreamManager, consumer: string, total: number): Promise<number> {
  const info = await jsm.consumers.info(FAULTS_STREAM, consumer);
  return total - info.num_pending - info.num_ack_pending;
}

/** A counter or histogram total from the intake's /metrics text. */
function metricTotal(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

async function intakeMetrics(port: number): Promise<{ handoffs: number; handoffSeconds: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return { handoffs: metricTotal(text, 'runbook_intake_handoff_seconds_count'), handoffSeconds: metricTotal(text, 'runbook_intake_handoff_seconds_sum') };
}

/** Runs the real intake process until the window has passed (or the backlog is gone) and counts what it acked. */
async function drainWithIntake(stack: BenchStack, jsm: JetStreamManager, total: number, windowS: number): Promise<{ drain: Drain; work: IntakeWork }> {
  const port = stack.config.intakePort;
  const intake = await startComponentProcess({
    name: 'bench-intake',
    entry: 'workers/intake.ts',
    env: { ...stack.env, [ENV.logLevel]: 'warn' },
    logDir: join(stack.config.stateDir, 'logs'),
    healthPort: port,
  });
  try {
    // The window starts with the first ack, so process start-up is not counted.
    await waitFor('the intake to ack its first event', 60_000, async () => (await acked(jsm, INTAKE_CONSUMER, total)) > 0, 20);
    const t0 = performance.now();
    const start = await acked(jsm, INTAKE_CONSUMER, total);
    const [cpu0, m0] = [readCpuSeconds(intake.pid), await intakeMetrics(port)];
    let done = start;
    while (performance.now() - t0 < windowS * 1_000 && done < total) {
      await new Promise((r) => setTimeout(r, 250));
      done = await acked(jsm, INTAKE_CONSUMER, total);
    }
    const seconds = (performance.now() - t0) / 1_000;
    const [cpu1, m1] = [readCpuSeconds(intake.pid), await intakeMetrics(port)];
    return { drain: { handled: done - start, seconds }, work: { handoffs: m1.handoffs - m0.handoffs, handoffSeconds: m1.handoffSeconds - m0.handoffSeconds, cpuSeconds: cpu1 - cpu0 } };
  } finally {
    await intake.stop();
  }
}

/** Mean time of one call with INTAKE_CONCURRENCY of them in flight throughout. */
function perCallMs(d: Drain): number {
  return (d.seconds * INTAKE_CONCURRENCY * 1_000) / Math.max(1, d.handled);
}

/** Starts incidents for new targets directly, INTAKE_CONCURRENCY at a time, for `seconds`: what Temporal alone can take. */
async function directStarts(stack: BenchStack, seconds: number, how: 'start' | 'signalWithStart'): Promise<Drain> {
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  const runbook = snapshotFromYaml(noopRunbookYaml(1));
  try {
    let next = 0;
    const t0 = performance.now();
    const deadline = t0 + seconds * 1_000;
    const lane = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const event = benchFault(`direct-${how}-${next}`, `direct-${how}-${next++}`);
        const options = {
          workflowId: incidentIdFor(event.service, event.target),
          taskQueue: stack.config.taskQueue,
          args: [incidentInputFor(event, runbook)],
          typedSearchAttributes: initialSearchAttributes(event, runbook),
        };
        if (how === 'start') await client.workflow.start('incident', options);
        else await client.workflow.signalWithStart('incident', { ...options, signal: faultObserved, signalArgs: [event] });
      }
    };
    await Promise.all(Array.from({ length: INTAKE_CONCURRENCY }, lane));
    return { handled: next, seconds: (performance.now() - t0) / 1_000 };
  } finally {
    await connection.close();
  }
}

/** Consumes and acks the first `count` messages with a fresh consumer configured like the intake's. */
async function bareDrain(nc: NatsConnection, jsm: JetStreamManager, count: number): Promise<Drain> {
  const name = 'bench-floor';
  await jsm.consumers.add(FAULTS_STREAM, { ...intakeConsumerConfig(), durable_name: name });
  const consumer = await nc.jetstream().consumers.get(FAULTS_STREAM, name);
  const messages = await consumer.consume({ max_messages: 256 });
  const t0 = performance.now();
  let n = 0;
  for await (const msg of messages) {
    msg.ack();
    n += 1;
    if (n >= count) break;
  }
  // Acks are fire-and-forget; the window ends when the server has them all.
  await waitFor('the floor consumer acks to land', 60_000, async () => (await jsm.consumers.info(FAULTS_STREAM, name)).ack_floor.stream_seq >= count, 10);
  const seconds = (performance.now() - t0) / 1_000;
  messages.stop();
  return { handled: count, seconds };
}
