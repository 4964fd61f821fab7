import { Client, Connection } from '@temporalio/client';
import type { JetStreamManager, NatsConnection } from 'nats';
import type { Config } from '../../config/config';
import { connectNats } from '../../config/nats-connect';
import { temporalConnectOptions } from '../../config/temporal-connection';
import { publishDurably } from '../../platform/jetstream-publish';
import { signalProcessGroup } from '../../platform/process-group';
import { faultSubjectFor } from '../../schemas/fault-event';
import { componentHealthy } from '../../stack/health';
import type { RestartPolicy } from '../../stack/restart-policy';
import type { StackInfo } from '../../stack/stack-file';
import { waitFor } from '../../stack/wait-for';
import { consumerBacklog, testFault } from './intake-harness';
import type { StormCount } from './storm-count';
import { STORM_SERVICE, type StormFiles } from './storm-runbook';
import { tallyStorm, type KillRecord, type StormSummary } from './storm-tally';

/*
 * One storm, run against either stack: faults published at a steady pace
 * (each counted once JetStream acknowledged it), while the stack's components
 * are SIGKILLed in turn and brought back by the stack's own supervisor; then
 * counted at the side effects (see storm-tally.ts).
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
  /** Said of the kill in the log once it recovered. */
  note?(): string;
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

/**
 * Runs the storm: publishes `plan.events` faults round-robin over
 * `plan.targets` targets while killing each fault's component in turn (spread
 * over the first three quarters of the storm, each recovered before the
 * next), then waits up to the close bound for the intakes to drain and every
 * incident to close, and counts.
 */
/** Targets that fault once more after every storm incident has closed. */
const REOPENED_TARGETS = 20;

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
    const publishOne = async (id: string, target: string): Promise<void> => {
      const event = testFault({ id, source: 'storm', service: STORM_SERVICE, target, kind: 'storm_fault', severity: 'critical' });
      const subject = faultSubjectFor({ service: STORM_SERVICE as never, kind: 'storm_fault' });
      await publishDurably(js, subject, JSON.stringify(event), { msgID: event.id, closed: () => producer.isClosed(), onRetry: () => publishRetries++ });
      acked.get(target)?.push(event.id);
      ackedCount += 1;
    };
    const lane = async (): Promise<void> => {
      for (let i = next++; i < plan.events; i = next++) {
        const due = startedAt + i * interval;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        await publishOne(`storm-${i}`, targets[i % targets.length] as string);
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
      log(`${stack.label}: killed ${component} (${fault.label}) after ${afterEvents} events; running and healthy again after ${ms} ms${fault.note ? `; ${fault.note()}` : ''}`);
    }
    await publishing;
    const stormEndedAt = Date.now();
    log(`${stack.label}: ${ackedCount} events acknowledged in ${stormEndedAt - startedAt} ms (${publishRetries} publish retries)`);

    // Closing: the intakes have settled every message and no incident is open, or the bound has passed (then counted as stuck).
    const openQuery = `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${STORM_SERVICE}/' AND ExecutionStatus = 'Running'`;
    let closedAt = stormEndedAt;
    const allClosed = (): Promise<void> =>
      waitFor('the intakes to drain and every storm incident to close', plan.closeBoundMs, async () => {
        const backlog = await consumerBacklog(admin).catch(() => undefined);
        if (!backlog || backlog.pending > 0 || backlog.unacked > 0) return false;
        return (await client.workflow.count(openQuery).catch(() => ({ count: -1 }))).count === 0;
      }, 1_000);
    try {
      await allClosed();
      // However long the storm's incidents lived (they stretch on a loaded machine), some
      // targets fault again once theirs has closed, so reopening is always exercised.
      for (const [k, target] of targets.slice(0, REOPENED_TARGETS).entries()) await publishOne(`storm-again-${k}`, target);
      await allClosed();
      closedAt = Date.now();
    } catch (err) {
      log(`${stack.label}: ${String(err)}; counting what is open as stuck`);
      closedAt = Date.now();
    }
    return await tallyStorm(
      { stack: stack.label, events: plan.events + REOPENED_TARGETS, targets: plan.targets, acked, publishRetries, kills, intakePorts: stack.intakePorts, startedAt, stormEndedAt, closedAt },
      client,
      probe.jsm,
      files,
      log,
    );
  } finally {
    await producer.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}
