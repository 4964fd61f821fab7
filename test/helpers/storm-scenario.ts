import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { JetStreamManager, NatsConnection } from 'nats';
import type { Config } from '../../config/config';
import { connectNats } from '../../config/nats-connect';
import { temporalConnectOptions } from '../../config/temporal-connection';
import { listDeadLetters } from '../../intake/dead-letter-store';
import { DEAD_LETTER_STREAM } from '../../intake/streams';
import { publishDurably } from '../../platform/jetstream-publish';
import { signalProcessGroup } from '../../platform/process-group';
import type { IncidentResult } from '../../schemas/incident-state';
import { faultSubjectFor } from '../../schemas/fault-event';
import { componentHealthy } from '../../stack/health';
import type { RestartPolicy } from '../../stack/restart-policy';
import type { StackInfo } from '../../stack/stack-file';
import { waitFor } from '../../stack/wait-for';
import { consumerBacklog, metricValue, testFault } from './intake-harness';
import { countStorm, parseEffectLog, type StormCount, type StormRun } from './storm-count';
import { STORM_SERVICE, type StormFiles } from './storm-runbook';

/*
 * One storm, run against either stack: faults published at a steady pace
 * (each counted once JetStream acknowledged it), while the stack's components
 * are SIGKILLed in turn and brought back by the stack's own supervisor; then
 * counted at the side effects (see storm-count.ts).
 */

/** Restarts quickly: the storm kills each component once and waits for it. */
export const STORM_RESTART_POLICY: RestartPolicy = { initialDelayMs: 200, maxDelayMs: 5_000, resetAfterMs: 60_000, maxRestarts: 5, windowMs: 5 * 60_000 };

/** Short nak delays keep the catch-up after a Temporal or PostgreSQL outage within the test's bound. */
export const STORM_NAK = { intakeNakBaseMs: 250, intakeNakMaxMs: 3_000 } as const;

/** A running stack as the storm sees it. */
export interface StormStack {
  label: 'embedded' | 'cluster';
  /** Points at the stack: namespace, state directory (credentials), NATS server list, Temporal address. */
  config: Config;
  /** The stack's live record; its supervisor updates each component's pid and state. */
  info: StackInfo;
  intakePorts: number[];
}

/** What a fault may look at to choose its victim or to tell it recovered. */
export interface StormProbe {
  jsm: JetStreamManager;
  info: StackInfo;
}

/** One SIGKILL of the storm. */
export interface StormFault {
  /** How the summary names it: `nats-leader`, `worker`, … */
  label: string;
  /** The component to kill, chosen at that moment (a stream leader moves). */
  component(probe: StormProbe): Promise<string>;
  /** What must hold, beyond the component running and healthy again, before the next kill. */
  recovered?(probe: StormProbe): Promise<boolean>;
}

/** Size and pace of a storm. */
export interface StormPlan {
  targets: number;
  events: number;
  /** The events go out evenly over this time. */
  durationMs: number;
  /** Publishers at once: a publish that waits out a node loss holds up only its own lane. */
  lanes: number;
  faults: StormFault[];
  /** How long after the last publish every incident must have closed. */
  closeBoundMs: number;
  /** How long one kill may take to recover. */
  recoverBoundMs: number;
}

/** One kill and its recovery, for the summary. */
export interface KillRecord {
  fault: string;
  component: string;
  /** Events acknowledged when it was killed. */
  afterEvents: number;
  recoveredMs: number;
}

/** The one-line summary docs/reliability.md quotes. */
export interface StormSummary {
  stack: string;
  events: number;
  targets: number;
  acked: number;
  publishRetries: number;
  lost: number;
  deadLettered: number;
  duplicates: number;
  overlaps: number;
  stuck: number;
  incidents: number;
  byStatus: Record<string, number>;
  ambiguous: StormCount['ambiguous'];
  effectLines: number;
  maxIncidentsPerTarget: number;
  incidentLifetimeMs: StormCount['lifetimeMs'];
  /** Events the running intakes gave back to JetStream (nak) while Temporal could not take them; a restarted intake counts from 0. */
  intakeRetried: number;
  kills: KillRecord[];
  stormMs: number;
  closedAfterStormMs: number;
  totalMs: number;
}

/** Kills a component's process group with SIGKILL and waits until its supervisor has it running and healthy again. */
async function killAndRecover(probe: StormProbe, fault: StormFault, boundMs: number): Promise<{ component: string; ms: number }> {
  const component = await fault.component(probe);
  const before = probe.info.components[component];
  if (!before) throw new Error(`${fault.label}: no component ${component} in ${Object.keys(probe.info.components).join(', ')}`);
  const at = Date.now();
  signalProcessGroup(before.pid, 'SIGKILL');
  await waitFor(`${component} (${fault.label}) to be restarted and healthy`, boundMs, async () => {
    const now = probe.info.components[component];
    if (!now || now.pid === before.pid || now.state !== 'running') return false;
    if (!(await componentHealthy(component, probe.info)).healthy) return false;
    return fault.recovered ? fault.recovered(probe).catch(() => false) : true;
  }, 100);
  return { component, ms: Date.now() - at };
}

/** Every storm incident run in visibility, each with its final state when closed. */
async function listRuns(client: Client): Promise<StormRun[]> {
  const runs: StormRun[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${STORM_SERVICE}/'` })) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, startMs: wf.startTime.getTime(), ...(wf.closeTime ? { closeMs: wf.closeTime.getTime() } : {}) });
  }
  // Results of closed runs, a few at a time; an open run (stuck) gets its last state by query.
  const queue = [...runs];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let run = queue.shift(); run; run = queue.shift()) {
        const handle = client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false });
        try {
          run.state = run.closeMs === undefined ? await handle.query('state') : ((await handle.result()) as IncidentResult).state;
        } catch {
          // Counted as stuck or as a run without a ledger; the assertions name it.
        }
      }
    }),
  );
  return runs;
}

/**
 * Runs the storm: publishes `plan.events` faults round-robin over
 * `plan.targets` targets while killing each fault's component in turn (spread
 * over the first three quarters of the storm, each recovered before the
 * next), then waits up to the close bound for the intakes to drain and every
 * incident to close, and counts.
 */
export async function runStorm(stack: StormStack, plan: StormPlan, files: StormFiles, log: (line: string) => void): Promise<{ count: StormCount; summary: StormSummary }> {
  const startedAt = Date.now();
  const targets = Array.from({ length: plan.targets }, (_, i) => `node-${String(i + 1).padStart(3, '0')}`);
  const reconnect = { maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5_000 };
  const producer: NatsConnection = await connectNats(stack.config, 'producer', { name: 'storm-producer', ...reconnect });
  const admin: NatsConnection = await connectNats(stack.config, 'admin', { name: 'storm-admin', ...reconnect });
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  try {
    const probe: StormProbe = { jsm: await admin.jetstreamManager(), info: stack.info };
    const acked = new Map<string, string[]>(targets.map((t) => [t, []]));
    let ackedCount = 0;
    let publishRetries = 0;
    let next = 0;
    const js = producer.jetstream();
    const interval = plan.durationMs / plan.events;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < plan.events; i = next++) {
        const due = startedAt + i * interval;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        const target = targets[i % targets.length] as string;
        const event = testFault({ id: `storm-${i}`, source: 'storm', service: STORM_SERVICE, target, kind: 'storm_fault', severity: 'critical' });
        const subject = faultSubjectFor({ service: STORM_SERVICE as never, kind: 'storm_fault' });
        await publishDurably(js, subject, JSON.stringify(event), { msgID: event.id, closed: () => producer.isClosed(), onRetry: () => publishRetries++ });
        acked.get(target)?.push(event.id);
        ackedCount += 1;
      }
    };
    let publishFailed: unknown;
    const publishing = Promise.all(Array.from({ length: plan.lanes }, lane));
    publishing.catch((err: unknown) => (publishFailed = err));

    const kills: KillRecord[] = [];
    for (const [k, fault] of plan.faults.entries()) {
      const at = Math.floor((plan.events * 3 * (k + 1)) / (4 * (plan.faults.length + 1)));
      await waitFor(`${at} events acknowledged`, plan.durationMs + 60_000, () => {
        if (publishFailed !== undefined) throw publishFailed;
        return ackedCount >= at;
      }, 20);
      const afterEvents = ackedCount;
      const { component, ms } = await killAndRecover(probe, fault, plan.recoverBoundMs);
      kills.push({ fault: fault.label, component, afterEvents, recoveredMs: ms });
      log(`${stack.label}: killed ${component} (${fault.label}) after ${afterEvents} events; running and healthy again after ${ms} ms`);
    }
    await publishing;
    const stormEndedAt = Date.now();
    log(`${stack.label}: ${ackedCount} events acknowledged in ${stormEndedAt - startedAt} ms (${publishRetries} publish retries)`);

    // Closing: the intakes have settled every message and no incident is open, or the bound has passed (then counted as stuck).
    const openQuery = `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${STORM_SERVICE}/' AND ExecutionStatus = 'Running'`;
    let closedAt = stormEndedAt;
    try {
      await waitFor('the intakes to drain and every storm incident to close', plan.closeBoundMs, async () => {
        const backlog = await consumerBacklog(admin).catch(() => undefined);
        if (!backlog || backlog.pending > 0 || backlog.unacked > 0) return false;
        return (await client.workflow.count(openQuery).catch(() => ({ count: -1 }))).count === 0;
      }, 1_000);
      closedAt = Date.now();
    } catch (err) {
      log(`${stack.label}: ${String(err)}; counting what is open as stuck`);
      closedAt = Date.now();
    }
    // Visibility lists a close a moment after it happens: settle on a listing whose ledgers add up, briefly.
    let runs: StormRun[] = [];
    let count: StormCount | undefined;
    const lines = (): ReturnType<typeof parseEffectLog> => (existsSync(files.effectLog) ? parseEffectLog(readFileSync(files.effectLog, 'utf8')) : []);
    const dead = await listDeadLetters(probe.jsm, 1_000).catch(() => []);
    const deadLettered = new Set(dead.map((d) => d.originalMsgId ?? '').filter(Boolean));
    for (const d of dead) log(`${stack.label}: dead-lettered ${d.originalMsgId ?? '?'}: ${d.reason}: ${d.error}`);
    await waitFor('a listing in which every acknowledged event is accounted for', 20_000, async () => {
      runs = await listRuns(client);
      count = countStorm({ acked, deadLettered, runs, lines: lines(), incidentPrefix: `incident/${STORM_SERVICE}/` });
      return count.lost.length === 0 && count.miscounted.length === 0;
    }, 1_000).catch(() => undefined);
    if (!count) throw new Error('no listing of the storm incidents');
    const deadInStream = (await probe.jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
    let retried = 0;
    for (const port of stack.intakePorts) retried += await metricValue(port, 'runbook_intake_events_total', '{outcome="retried"}').catch(() => 0);
    const summary: StormSummary = {
      stack: stack.label,
      events: plan.events,
      targets: plan.targets,
      acked: count.acked,
      publishRetries,
      lost: count.lost.length,
      deadLettered: deadInStream,
      duplicates: count.duplicates.length,
      overlaps: count.overlaps.length,
      stuck: count.stuck.length,
      incidents: count.incidents,
      byStatus: count.byStatus,
      ambiguous: count.ambiguous,
      effectLines: count.effectLines,
      maxIncidentsPerTarget: count.maxIncidentsPerTarget,
      incidentLifetimeMs: count.lifetimeMs,
      intakeRetried: retried,
      kills,
      stormMs: stormEndedAt - startedAt,
      closedAfterStormMs: closedAt - stormEndedAt,
      totalMs: Date.now() - startedAt,
    };
    return { count, summary };
  } finally {
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}

/** The storm's guarantees, asserted on its count; each failure names the offenders. */
export function assertStormHeld(count: StormCount, summary: StormSummary): void {
  assert.equal(summary.acked, summary.events, 'every event was acknowledged: the publishers rode out every kill');
  assert.ok(count.ledgersComplete, 'every incident lists all its event ids (fewer than the ledger bound), so the id check covered every event');
  assert.deepEqual(count.lost, [], 'no acknowledged event is missing from every incident and the dead letters');
  assert.equal(summary.deadLettered, 0, 'no valid event was dead-lettered');
  assert.deepEqual(count.miscounted, [], 'each target\'s incidents absorbed exactly the events acknowledged for it');
  assert.deepEqual(count.absorbedTwice, [], 'no event is absorbed by two incidents');
  assert.deepEqual(count.overlaps, [], 'no target had two incidents open at once');
  assert.deepEqual(count.duplicates, [], 'no remediation side effect ran twice');
  assert.deepEqual(count.strayKeys, [], 'every effect line belongs to a listed incident of its own target');
  assert.deepEqual(count.succeededNotOnce, [], 'each incident whose effect step succeeded ran it exactly once');
  assert.deepEqual(count.stuck, [], 'every incident closed within the bound after the storm');
  assert.equal(summary.kills.length, summary.kills.filter((k) => k.recoveredMs > 0).length);
  assert.ok(count.maxIncidentsPerTarget > 1, 'some target had several incidents in turn, so reopening was exercised');
}
