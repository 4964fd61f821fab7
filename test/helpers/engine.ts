import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { kvEffectLedger, openEffectsBucket } from '../../activities/effect-ledger';
import { decisionKeyPath, readDecisionKey } from '../../config/decision-key';
import { signDecision } from '../../engine/decision-signature';
import type { DecisionBase } from '../../schemas/decisions';
import { createGuardActivities, readPauseSwitch } from '../../activities/guard-activities';
import { CONTROL_BUCKET } from '../../schemas/control-bucket';
import { createApprovalActivities } from '../../activities/notify-approvals';
import { pagerDutySettings } from '../../config/paging';
import { createAuditEventActivities } from '../../activities/audit-events';
import { createDrillIncidentActivities } from '../../activities/drill-incident';
import type { KV, NatsConnection } from 'nats';
import { ENV } from '../../config/config';
import { loadRunbookText } from '../../engine/load-runbook';
import { createLogger } from '../../observability/logger';
import type { FaultEvent } from '../../schemas/fault-event';
import { snapshotOf } from '../../intake/intake-loop';
import { startComponentProcess } from '../../stack/component-process';
import type { ManagedProcess } from '../../stack/managed-process';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import type { incident } from '../../workflows';
import type { IncidentState } from '../../schemas/incident-state';
import { incidentState } from '../../workflows/messages';
import type { RunbookSnapshot } from '../../schemas/incident-input';
import type { TestStack } from './stack';
import { workerOptionsForTests } from './worker';
import { temporalConnectOptions } from '../../config/temporal-connection';

/** The fixture program that records each run of a command action. */
export const SIDE_EFFECT = join(PROJECT_ROOT, 'test', 'fixtures', 'engine', 'side-effect.js');

/** argv of a command action that logs `label` to `log` (plus mode flags). */
export function sideEffect(log: string, label: string, ...mode: string[]): string {
  return JSON.stringify([process.execPath, SIDE_EFFECT, log, label, ...mode]);
}

/** How many times `label` ran according to `log`. */
export function runsOf(log: string, label: string): number {
  if (!existsSync(log)) return 0;
  return readFileSync(log, 'utf8').split('\n').filter((l) => l === label).length;
}

/** Labels in the order they ran. */
export function runOrder(log: string): string[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** Parses a runbook written in a test; fails the test with file:line errors if invalid. */
export function runbookFrom(yaml: string): RunbookSnapshot {
  const loaded = loadRunbookText(yaml, 'test-runbook.yaml');
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`).join('\n'));
  return snapshotOf(loaded);
}

/**
 * A runbook of one command step `act` that appends to `log` (count it with
 * `runsOf(log, 'act')`); `stepExtra` is YAML added under the step, e.g. an
 * `approval:` line.
 */
export function oneCommandRunbook(name: string, log: string, stepExtra = ''): RunbookSnapshot {
  return runbookFrom(`
name: ${name}
version: 1
match: { kinds: [node_down] }
settings: { allowed_executables: [${JSON.stringify(process.execPath)}] }
steps:
  - id: act
    action: { kind: command, argv: ${sideEffect(log, 'act')} }
${stepExtra ? `    ${stepExtra}\n` : ''}`);
}

/**
 * The audited path's opening steps, as runbook YAML under `steps:`: confirm
 * against a dead port, isolate behind an `oncall` approval with a secret in
 * its env, then a command that fails once and succeeds on its second try
 * (undone by `undo-flaky` if asked).
 */
export function auditedPathSteps(log: string, deadPort: number, opts: { compensateFlaky?: boolean } = {}): string {
  const compensate = opts.compensateFlaky ? `    compensate: { kind: command, argv: ${sideEffect(log, 'undo-flaky')} }\n` : '';
  return `  - id: confirm
    action: { kind: confirm, target: { tcp: { host: 127.0.0.1, port: ${deadPort} } }, timeout: 500ms, samples: 2, interval: 100ms, quorum: 2 }
  - id: isolate
    action: { kind: isolate, command: { argv: ${sideEffect(log, 'isolate')}, env: { API_TOKEN: hunter2, MODE: drain } } }
    approval: { approvers: [oncall], timeout: 1m, on_timeout: reject }
  - id: flaky
    action: { kind: command, argv: ${sideEffect(log, 'flaky', '--fail-until', '2')} }
    retry: { max_attempts: 3, initial_interval: 100ms, max_interval: 100ms }
${compensate}`;
}

/** A fault for tests. */
export function testFault(service: string, target: string, kind = 'node_down'): FaultEvent {
  return {
    id: `evt-${service}-${target}-${Math.random().toString(36).slice(2)}`,
    source: 'test',
    service,
    target,
    kind,
    severity: 'critical',
    status: 'firing',
    observedAt: new Date().toISOString(),
    labels: {},
    annotations: {},
  } as FaultEvent;
}

/** A Temporal client plus an in-process worker with the real activities. */
export interface EngineHarness {
  client: Client;
  taskQueue: string;
  scratch: string;
  start(runbook: RunbookSnapshot, fault: FaultEvent, dryRun?: boolean): Promise<WorkflowHandle<typeof incident>>;
  state(handle: WorkflowHandle): Promise<IncidentState>;
  waitForStatus(handle: WorkflowHandle, status: IncidentState['status'], timeoutMs?: number): Promise<IncidentState>;
  /** The incident's state once `check` holds (an incident not started yet counts as not holding); `what` names the wait in a timeout. */
  stateWhere(incidentId: string, what: string, check: (s: IncidentState) => boolean, timeoutMs?: number): Promise<IncidentState>;
  /**
   * `d` signed with the stack's decision key, as the approval API signs it:
   * for tests that send a decision signal themselves (an unsigned one is refused).
   */
  signed<T extends DecisionBase>(incidentId: string, verdict: string, d: T): T;
  /** A refusal record signed as the approval API signs the ones it writes (an unsigned one is ignored). */
  signedRefusal<T extends DecisionBase & { verdict: string; note: string }>(incidentId: string, d: T): T;
  close(): Promise<void>;
}

/** Options for {@link startEngineHarness}. */
export interface EngineHarnessOptions {
  /** Run a worker in this process (default true). */
  worker?: boolean;
  /** Queue to start incidents on, e.g. the stack's own queue when worker processes serve it; default a private one. */
  taskQueue?: string;
}

/** Queries `handle` until `check` holds; a query that fails (not started yet) counts as not holding. */
async function untilState(handle: WorkflowHandle, what: string, check: (s: IncidentState) => boolean, timeoutMs: number): Promise<IncidentState> {
  let last: IncidentState | undefined;
  await waitFor(what, timeoutMs, async () => {
    last = await handle.query(incidentState).catch(() => undefined);
    return last !== undefined && check(last);
  });
  if (!last) throw new Error(`no state while waiting for ${what}`);
  return last;
}

/** Connects to a test stack (or any servers its config names) and runs a worker in this process until close(). */
export async function startEngineHarness(stack: Pick<TestStack, 'config' | 'natsConnect'>, opts: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const taskQueue = opts.taskQueue ?? `engine-${Math.random().toString(36).slice(2)}`;
  const decisionKey = readDecisionKey(decisionKeyPath(stack.config));
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  const client = new Client({ connection, namespace: stack.config.namespace });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let native: NativeConnection | undefined;
  let nc: NatsConnection | undefined;
  if (opts.worker !== false) {
    nc = await stack.natsConnect('worker', { name: 'test-worker' });
    const natsConn = nc;
    const control = (): Promise<KV> => natsConn.jetstream().views.kv(CONTROL_BUCKET);
    native = await NativeConnection.connect(await temporalConnectOptions(stack.config));
    worker = await Worker.create({
      ...workerOptionsForTests(),
      connection: native,
      namespace: stack.config.namespace,
      taskQueue,
      activities: {
        ...createActivities({ logger: createLogger('test-worker', 'warn'), decisionKey, dryRun: false, secretSource: { env: {} }, pauseSwitch: () => readPauseSwitch(control), effects: kvEffectLedger(() => openEffectsBucket(natsConn.jetstream())) }),
        ...createGuardActivities({ client, taskQueue, control }),
        ...createApprovalActivities({ logger: createLogger('test-worker', 'warn'), rosterFile: stack.config.rosterFile, nats: natsConn, consoleUrl: stack.config.consoleUrl, pagerduty: pagerDutySettings(stack.config) }),
        ...createAuditEventActivities({ nats: natsConn }),
        ...createDrillIncidentActivities({ client, nats: natsConn }),
      },
    });
    running = worker.run();
  }
  const harness: EngineHarness = {
    client,
    taskQueue,
    scratch: mkdtempSync(join(tmpdir(), 'engine-')),
    start: (runbook, fault, dryRun = false) =>
      client.workflow.start('incident', {
        workflowId: `incident/${fault.service}/${fault.target}`,
        taskQueue,
        args: [{ incidentId: `incident/${fault.service}/${fault.target}`, fault, runbook, dryRun }],
      }) as Promise<WorkflowHandle<typeof incident>>,
    state: (handle) => handle.query(incidentState),
    signed: (incidentId, verdict, d) => ({ ...d, signature: signDecision(decisionKey, { purpose: 'decision', incidentId, verdict, by: d.by, channel: d.channel, reason: d.reason, step: d.step, requestId: d.requestId }) }),
    signedRefusal: (incidentId, d) => ({ ...d, signature: signDecision(decisionKey, { purpose: 'refusal', incidentId, verdict: d.verdict, by: d.by, channel: d.channel, reason: d.reason, step: d.step, requestId: d.requestId, note: d.note }) }),
    waitForStatus: (handle, status, timeoutMs = 60_000) => untilState(handle, `incident status ${status}`, (st) => st.status === status, timeoutMs),
    stateWhere: (incidentId, what, check, timeoutMs = 30_000) => untilState(client.workflow.getHandle(incidentId), what, check, timeoutMs),
    async close() {
      worker?.shutdown();
      await running;
      await native?.close();
      await nc?.close();
      await connection.close();
    },
  };
  return harness;
}

/**
 * Starts `workers/worker.ts` as its own process group on the stack's task
 * queue and metrics port, and waits until it reports healthy. The test's
 * workflow bundle is passed on so every worker process runs the same code.
 */
export function startWorkerProcess(stack: TestStack, name: string): Promise<ManagedProcess> {
  const { config } = stack;
  return startComponentProcess({
    name,
    entry: 'workers/worker.ts',
    env: { ...stack.env, ...(config.workflowBundle ? { [ENV.workflowBundle]: config.workflowBundle } : {}) },
    logDir: join(config.stateDir, 'logs'),
    healthPort: config.workerMetricsPort,
    timeoutMs: 90_000,
  });
}
