import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { ConsumerMessages, JetStreamManager, NatsConnection } from 'nats';
import { loadAlertmanagerMapping } from '../config/alertmanager-mapping';
import { ENV, loadConfig, natsReplicasFor } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { connectNats } from '../config/nats-connect';
import { desiredSchedules } from '../engine/schedule-plan';
import { reconcileUntilDone } from '../intake/schedules';
import { loadRunbookDir, formatRunbookErrors, type LoadedRunbook } from '../engine/load-runbook';
import { fileAckGate } from '../intake/ack-gate';
import { Handoff } from '../intake/handoff';
import { intakeHttpRoutes } from '../intake/http-routes';
import { IntakeLoop } from '../intake/intake-loop';
import { createIntakeMetrics, type IntakeMetrics } from '../intake/metrics';
import { webhookAuthenticator, type WebhookAuthSource } from '../intake/webhook-auth';
import { DEFAULT_MAX_PAYLOAD } from '../intake/dead-letter';
import { DEFAULT_NAK_BACKOFF } from '../intake/delivery-attempts';
import { consumerMaxDeliver, DEFAULT_MAX_DELIVER, ensureJetStream, FAULTS_STREAM, INTAKE_CONSUMER } from '../intake/streams';
import { closeHttpServer, startHttpServer } from '../observability/http-server';
import { createLogger, type Logger } from '../observability/logger';
import { metricsRoute, registry } from '../observability/metrics';
import { createRateLimiter } from '../observability/rate-limit';

/** How many messages one pull asks for. */
const BATCH = 256;
/** How often the backlog gauge is refreshed from the server. */
const BACKLOG_INTERVAL_MS = 2_000;
/** Pause before consuming again after the consumer stopped on an error. */
const RECONSUME_DELAY_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What JetStream set-up needs and what it learns. */
interface JetStreamSetUp {
  jsm: JetStreamManager;
  logger: Logger;
  metrics: IntakeMetrics;
  isStopping: () => boolean;
  /** Deliveries the intake asks the consumer to allow. */
  maxDeliver: number;
  /** Copies each stream should have, so a provisioned cluster is not reported as drift. */
  replicas: number;
  /** Receives the consumer's actual `max_deliver`, which the loop acts on. */
  onMaxDeliver: (value: number) => void;
}

/** Creates or checks the streams and consumer, retrying while NATS is not answering. */
async function setUpJetStream(s: JetStreamSetUp): Promise<void> {
  const { jsm, logger, metrics, isStopping } = s;
  for (let attempt = 1; !isStopping(); attempt++) {
    try {
      const drift = await ensureJetStream(jsm, logger, { maxDeliver: s.maxDeliver, replicas: s.replicas });
      metrics.configDrift.set(drift.length);
      const actual = await consumerMaxDeliver(jsm);
      if (actual !== s.maxDeliver) logger.warn('the consumer allows a different number of deliveries than configured; acting on the consumer\'s', { configured: s.maxDeliver, consumer: actual });
      s.onMaxDeliver(actual);
      return;
    } catch (err) {
      logger.error('JetStream set-up failed; retrying', { attempt, error: err });
      await sleep(Math.min(10_000, 500 * attempt));
    }
  }
}

function refreshBacklog(jsm: JetStreamManager, metrics: IntakeMetrics, loop: IntakeLoop): void {
  metrics.backlog.set({ state: 'in_process' }, loop.inFlightCount);
  jsm.consumers.info(FAULTS_STREAM, INTAKE_CONSUMER).then(
    (info) => {
      metrics.backlog.set({ state: 'pending' }, info.num_pending);
      metrics.backlog.set({ state: 'unacked' }, info.num_ack_pending);
      metrics.backlog.set({ state: 'redelivered' }, info.num_redelivered);
    },
    // NATS away: keep the last known values; the status watcher logs the outage.
    () => undefined,
  );
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('intake', config.logLevel);
  const mapping = loadAlertmanagerMapping(config.alertmanagerMappingFile);

  const loaded = await loadRunbookDir(resolve(config.runbooksDir));
  if (!loaded.ok) throw new Error(`runbooks in ${config.runbooksDir} are invalid:\n${formatRunbookErrors(loaded.errors)}`);
  const runbooks: LoadedRunbook[] = loaded.runbooks;
  logger.info('runbooks loaded', { runbooks: runbooks.map((r) => `${r.runbook.name}@${r.runbook.version}`) });

  let stopping = false;
  const isStopping = (): boolean => stopping;
  const nc: NatsConnection = await connectNats(config, 'intake', {
    name: 'runbook-intake',
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
  });
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  const metrics = createIntakeMetrics(registry);
  let maxDeliver = config.intakeMaxDeliver ?? DEFAULT_MAX_DELIVER;
  const setUp: JetStreamSetUp = { jsm, logger, metrics, isStopping, maxDeliver, replicas: natsReplicasFor(config), onMaxDeliver: (value) => (maxDeliver = value) };
  await setUpJetStream(setUp);

  let natsConnected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') natsConnected = false;
      if (s.type === 'reconnect') {
        natsConnected = true;
        // The server may have come back without its state; recreate what is missing.
        void setUpJetStream(setUp);
      }
      const level = s.type === 'disconnect' || s.type === 'error' ? 'warn' : 'info';
      logger[level]('nats connection status', { type: s.type, data: String(s.data) });
    }
  })();

  // Lazy: the intake starts and keeps consuming (and nacking) while Temporal is down.
  const connection = Connection.lazy(await temporalConnectOptions(config));
  const client = new Client({ connection, namespace: config.namespace });
  // Schedules follow the runbook files; each intake of a cluster does this, and the steps tolerate each other.
  void reconcileUntilDone(client, desiredSchedules(runbooks, { dryRun: config.dryRun, taskQueue: config.taskQueue }), { taskQueue: config.taskQueue, logger, isStopping });
  const handoff = new Handoff({ client, taskQueue: config.taskQueue, ...(config.quietPeriod ? { quietPeriod: config.quietPeriod } : {}) });
  if (config.intakeAckGateDir) logger.warn('fault-injection ack gate is on: acks wait for a release file', { dir: config.intakeAckGateDir });
  const loop = new IntakeLoop({
    js,
    handoff,
    runbooks: () => runbooks,
    metrics,
    logger,
    dryRun: config.dryRun,
    concurrency: config.intakeConcurrency,
    nak: { baseMs: config.intakeNakBaseMs ?? DEFAULT_NAK_BACKOFF.baseMs, maxMs: config.intakeNakMaxMs ?? DEFAULT_NAK_BACKOFF.maxMs },
    maxDeliver: () => maxDeliver,
    // The server may change on reconnect; its INFO says how big a message it takes.
    maxPayload: () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
    ...(config.intakeAckGateDir ? { beforeAck: fileAckGate(config.intakeAckGateDir) } : {}),
  });

  const webhookSource: WebhookAuthSource = {
    auth: config.intakeWebhookAuth,
    tokenFile: config.intakeWebhookTokenFile ? resolve(config.intakeWebhookTokenFile) : undefined,
    basicUser: config.intakeWebhookBasicUser,
    basicPasswordFile: config.intakeWebhookBasicPasswordFile ? resolve(config.intakeWebhookBasicPasswordFile) : undefined,
  };
  // An unreadable configured file stops start-up here, naming its variable.
  const webhookAuth = await webhookAuthenticator(webhookSource);
  if (config.intakeWebhookAuth === 'none') logger.warn(`the Alertmanager receiver accepts unauthenticated requests (${ENV.intakeWebhookAuth}=none)`);
  else if (!webhookAuth.configured()) {
    logger.warn('the Alertmanager receiver has no credential configured and refuses every request', { variables: [ENV.intakeWebhookTokenFile, ENV.intakeWebhookBasicUser, ENV.intakeWebhookBasicPasswordFile] });
  }
  // SIGHUP re-reads the credential files, so a rotated token takes effect without a restart.
  process.on('SIGHUP', () => {
    webhookAuth.reload().then(
      () => logger.info('Alertmanager receiver credential reloaded'),
      (err: unknown) => logger.error('Alertmanager receiver credential could not be reloaded; refusing every request until it is', { error: (err as Error).message }),
    );
  });
  const webhookLimiter = createRateLimiter({ capacity: config.intakeWebhookBurst, refillPerSecond: config.intakeWebhookRatePerSecond });

  const backlogTimer = setInterval(() => refreshBacklog(jsm, metrics, loop), BACKLOG_INTERVAL_MS);
  const http = await startHttpServer(config.intakePort, [
    ...intakeHttpRoutes({
      js,
      logger,
      metrics,
      mapping,
      auth: webhookAuth,
      limiter: webhookLimiter,
      maxPayload: () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
      problem: () => (stopping ? 'stopping' : nc.isClosed() ? 'NATS connection closed' : natsConnected ? undefined : 'NATS disconnected; reconnecting'),
    }),
    metricsRoute(registry),
  ]);
  logger.info('intake started', { nats: config.natsUrl, natsServer: nc.info?.server_name, temporal: config.temporalAddress, port: config.intakePort, concurrency: config.intakeConcurrency });

  let current: ConsumerMessages | undefined;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('intake stopping');
    current?.stop();
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  // The consumer survives reconnects on its own; this loop only restarts it after it gave up.
  while (!stopping) {
    try {
      const consumer = await js.consumers.get(FAULTS_STREAM, INTAKE_CONSUMER);
      current = await consumer.consume({ max_messages: BATCH });
      void (async () => {
        const messages = current;
        if (!messages) return;
        for await (const s of await messages.status()) logger.debug('consumer status', { type: s.type, data: s.data });
      })().catch(() => undefined);
      if (stopping) current.stop();
      await loop.run(current);
    } catch (err) {
      logger.error('consuming stopped; starting again', { error: err });
    }
    if (!stopping) await sleep(RECONSUME_DELAY_MS);
  }

  clearInterval(backlogTimer);
  await closeHttpServer(http);
  await nc.drain().catch(() => undefined);
  await connection.close();
  logger.info('intake stopped');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`intake: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
