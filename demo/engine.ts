import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DeliverPolicy, type ConsumerMessages, type NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { ENV, type Config } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { connectNats } from '../config/nats-connect';
import { decisionKeyPath, ensureDecisionKey, readDecisionKey } from '../config/decision-key';
import { formatRunbookErrors, loadRunbookDir } from '../engine/load-runbook';
import { Handoff } from '../intake/handoff';
import { IntakeLoop } from '../intake/intake-loop';
import { createIntakeMetrics } from '../intake/metrics';
import { ensureJetStream, FAULTS_STREAM, intakeConsumerConfig } from '../intake/streams';
import { createLogger } from '../observability/logger';
import { FAULT_SUBJECT_PREFIX } from '../schemas/fault-event';
import { componentEnv, nodeEntryArgv } from '../stack/local-stack';
import { startManagedProcess, type ManagedProcess } from '../stack/managed-process';
import { waitFor } from '../stack/wait-for';
import { DEMO_SERVICE, DEMO_TASK_QUEUE, type DemoLayout } from './layout';

/** Durable consumer of the demo's intake: only the demo service's faults. */
export const DEMO_CONSUMER = 'demo-intake';

/**
 * The demo's own worker and intake, attached to a running stack's Temporal
 * and NATS. The worker runs `workers/worker.ts` with the demo's services file
 * on the demo task queue; the intake is the real intake loop on a consumer of
 * the demo service's subjects, routing with the demo runbook only. The
 * stack's own processes need no restart and no configuration.
 */
export interface DemoEngine {
  client: Client;
  nc: NatsConnection;
  worker: ManagedProcess;
  /** The stack's decision key, which the demo signs its answers with (its worker verifies them with it). */
  decisionKey: Buffer;
  /** Stops the intake, then the worker; safe to call twice. */
  stop(): Promise<void>;
}

async function startDemoIntake(config: Config, layout: DemoLayout, nc: NatsConnection, client: Client): Promise<() => Promise<void>> {
  const loaded = await loadRunbookDir(layout.runbooksDir);
  if (!loaded.ok) throw new Error(`demo runbooks are invalid:\n${formatRunbookErrors(loaded.errors)}`);
  const log = createWriteStream(join(layout.logDir, 'intake.log'), { flags: 'a' });
  const logger = createLogger('demo-intake', config.logLevel, log);
  const jsm = await nc.jetstreamManager();
  await ensureJetStream(jsm, logger);
  // A consumer left by an interrupted run would replay its faults into this one.
  await jsm.consumers.delete(FAULTS_STREAM, DEMO_CONSUMER).catch(() => undefined);
  await jsm.consumers.add(FAULTS_STREAM, {
    ...intakeConsumerConfig(),
    durable_name: DEMO_CONSUMER,
    filter_subject: `${FAULT_SUBJECT_PREFIX}.${DEMO_SERVICE}.>`,
    deliver_policy: DeliverPolicy.New,
  });
  const js = nc.jetstream();
  const messages: ConsumerMessages = await (await js.consumers.get(FAULTS_STREAM, DEMO_CONSUMER)).consume({ max_messages: 64 });
  const loop = new IntakeLoop({
    js,
    handoff: new Handoff({ client, taskQueue: DEMO_TASK_QUEUE }),
    runbooks: () => loaded.runbooks,
    metrics: createIntakeMetrics(new Registry()),
    logger,
    dryRun: false,
    concurrency: 8,
  });
  const running = loop.run(messages).catch((err: unknown) => logger.error('demo intake stopped', { error: err }));
  return async () => {
    messages.stop();
    await running;
    await jsm.consumers.delete(FAULTS_STREAM, DEMO_CONSUMER).catch(() => undefined);
    await new Promise<void>((resolve) => log.end(resolve));
  };
}

/** Starts the demo worker process and the in-process demo intake; resolves once both run. */
export async function startDemoEngine(config: Config, layout: DemoLayout): Promise<DemoEngine> {
  const keyFile = resolve(decisionKeyPath(config));
  ensureDecisionKey(keyFile);
  const decisionKey = readDecisionKey(keyFile);
  const env: NodeJS.ProcessEnv = {
    ...componentEnv(config),
    [ENV.servicesFile]: layout.servicesFile,
    // Present only when the scenario takes backups; a missing file watches nothing.
    [ENV.backupsFile]: layout.backupsFile,
    // Present only with a hot standby, whose data follows the primary's.
    [ENV.replicationFile]: layout.replicationFile,
    [ENV.runbooksDir]: layout.runbooksDir,
    [ENV.taskQueue]: DEMO_TASK_QUEUE,
    [ENV.workerMetricsPort]: String(layout.ports.workerMetrics),
    ...(config.workflowBundle ? { [ENV.workflowBundle]: config.workflowBundle } : {}),
  };
  const worker = startManagedProcess({ name: 'demo-worker', argv: nodeEntryArgv('workers/worker.ts'), env, logFile: join(layout.logDir, 'worker.log') });
  let connection: Connection | undefined;
  let nc: NatsConnection | undefined;
  let stopIntake: (() => Promise<void>) | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stopIntake?.();
    await worker.stop(5_000);
    await nc?.close();
    await connection?.close();
  };
  try {
    connection = await Connection.connect({ ...(await temporalConnectOptions(config)), connectTimeout: 5_000 });
    const client = new Client({ connection, namespace: config.namespace });
    // The demo's intake (and its prober, which publishes faults as the Alertmanager receiver does) runs as the intake.
    nc = await connectNats(config, 'intake', { name: 'runbook-demo', timeout: 5_000 });
    stopIntake = await startDemoIntake(config, layout, nc, client);
    await waitFor('the demo worker to become healthy', 120_000, async () => {
      if (!worker.isRunning()) throw new Error(`the demo worker exited during start-up; see ${worker.logFile}`);
      const res = await fetch(`http://127.0.0.1:${layout.ports.workerMetrics}/healthz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      return res?.ok === true;
    }, 200);
    return { client, nc, worker, decisionKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
