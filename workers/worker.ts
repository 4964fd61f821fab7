import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { KV } from 'nats';
import { createGuardActivities, readPauseSwitch } from '../activities/guard-activities';
import { createActivities } from '../activities';
import { createDrillIncidentActivities } from '../activities/drill-incident';
import { kvEffectLedger, openEffectsBucket } from '../activities/effect-ledger';
import { createApprovalActivities } from '../activities/notify-approvals';
import { createAuditEventActivities } from '../activities/audit-events';
import { startBackupFreshnessWatch, type FreshnessWatch } from '../activities/backup-freshness';
import { startAvailabilityWatch, type AvailabilityWatch } from '../audit/availability-metrics';
import { startReplicationWatch, type ReplicationWatch } from '../activities/replication-watch';
import { loadBackupsFileIfPresent } from '../config/backups';
import { loadObjectivesFileIfPresent } from '../config/objectives';
import { loadReplicationFileIfPresent } from '../config/replication';
import { loadConfig, type Config } from '../config/config';
import { decisionKeyPath, readDecisionKey } from '../config/decision-key';
import { pagerDutySettings } from '../config/paging';
import { rosterAtStart } from '../config/roster-required';
import { loadServicesFileIfPresent } from '../config/services';
import { temporalConnectOptions } from '../config/temporal-connection';
import { connectNats } from '../config/nats-connect';
import { closeHttpServer, sendJson, startHttpServer } from '../observability/http-server';
import { createLogger } from '../observability/logger';
import { metricsRoute, registry } from '../observability/metrics';
import { CONTROL_CONNECT_TIMEOUT_MS, lazyControlBucket } from './control-bucket';

/**
 * Where the worker gets workflow code: the pre-built bundle in production
 * (no webpack at start-up, identical code on every worker) or whenever
 * `RUNBOOK_WORKFLOW_BUNDLE` names one, sources otherwise.
 */
export function workflowSource(config: Config): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (config.mode === 'production' || config.workflowBundle) {
    // From sources the bundle is dist/workflow-bundle.js; compiled, this file is dist/workers/worker.js.
    const candidates = config.workflowBundle ? [config.workflowBundle] : [resolve(__dirname, '..', 'dist', 'workflow-bundle.js'), resolve(__dirname, '..', 'workflow-bundle.js')];
    const codePath = resolve(candidates.find((c) => existsSync(c)) ?? candidates[0] ?? '');
    if (!existsSync(codePath)) throw new Error(`workflow bundle ${codePath} does not exist; run npm run build`);
    return { workflowBundle: { codePath } };
  }
  return { workflowsPath: require.resolve('../workflows') };
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Before anything connects: in production, without a roster any token holder could decide.
  await rosterAtStart(config);
  const logger = createLogger('worker', config.logLevel);
  const services = await loadServicesFileIfPresent(resolve(config.servicesFile));
  const backups = await loadBackupsFileIfPresent(resolve(config.backupsFile));
  const replication = await loadReplicationFileIfPresent(resolve(config.replicationFile));
  const objectives = await loadObjectivesFileIfPresent(resolve(config.objectivesFile));
  // Read once at start (as the API does); it verifies that the approval API signed each decision.
  const decisionKey = readDecisionKey(resolve(decisionKeyPath(config)));
  // The routing key itself is read by the notify activity at each notice, never here.
  const paging = pagerDutySettings(config);
  if (paging) logger.info('requests for a human page through PagerDuty', { eventsUrl: paging.eventsUrl, routingKeyFile: paging.routingKeyFile });
  // notify actions publish to NATS; the worker still runs (and says so) when NATS is down.
  const nats = await connectNats(config, 'worker', { name: 'runbook-worker', reconnect: true, maxReconnectAttempts: -1 }).catch((err: unknown) => {
    logger.warn('NATS unreachable; notify actions to NATS subjects will fail until restart', { error: err });
    return undefined;
  });
  const temporal = await temporalConnectOptions(config);
  const connection = await NativeConnection.connect(temporal);
  const clientConnection = await Connection.connect(temporal);
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  // Opened when first read and retried after each failure: until then remediation holds as "pause state unknown".
  const bucket = lazyControlBucket({ natsUrl: config.natsUrl, connect: () => connectNats(config, 'worker', { name: 'runbook-worker-control', timeout: CONTROL_CONNECT_TIMEOUT_MS, reconnect: true, maxReconnectAttempts: -1 }), logger, ...(nats ? { connection: nats } : {}) });
  const control = bucket.control;
  // Non-idempotent actions record their start and end here; without it they fail rather than run blind.
  let effectsKv: Promise<KV> | undefined;
  const effectsBucket = (): Promise<KV> => {
    effectsKv ??= bucket.connection().then((nc) => openEffectsBucket(nc.jetstream())).catch((err: unknown) => {
      effectsKv = undefined;
      throw err;
    });
    return effectsKv;
  };
  await effectsBucket().catch((err: unknown) => logger.warn('effects bucket unavailable; non-idempotent actions fail until it is', { error: err }));
  const worker = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...workflowSource(config),
    activities: {
      ...createActivities({ logger, decisionKey, dryRun: config.dryRun, services, secretSource: { env: { ...process.env } }, pauseSwitch: () => readPauseSwitch(control), effects: kvEffectLedger(effectsBucket), ...(nats ? { nats } : {}) }),
      ...createGuardActivities({ client, taskQueue: config.taskQueue, control }),
      ...createApprovalActivities({ logger, rosterFile: config.rosterFile ? resolve(config.rosterFile) : undefined, nats, consoleUrl: config.consoleUrl, pagerduty: paging }),
      ...createAuditEventActivities({ nats }),
      ...createDrillIncidentActivities({ client, nats }),
    },
  });
  const http = await startHttpServer(config.workerMetricsPort, [
    (req, res, url) => {
      if (url.pathname !== '/healthz') return false;
      const state = worker.getState();
      sendJson(res, state === 'RUNNING' ? 200 : 503, { state });
      return true;
    },
    metricsRoute(),
  ]);
  // Backup freshness is a gauge on /metrics and, past its bound, a backup_stale fault; both need the repositories the backups file names.
  let freshness: FreshnessWatch | undefined;
  if (Object.keys(backups).length > 0) {
    if (nats) freshness = startBackupFreshnessWatch({ repositories: backups, nc: nats, registry, logger });
    else logger.warn('NATS unreachable; backup freshness is not watched until restart', { repositories: Object.keys(backups) });
  }
  // Replicas follow their sources; lag is a gauge and, past its bound, a replication_lag fault.
  let replicas: ReplicationWatch | undefined;
  if (Object.keys(replication).length > 0) {
    if (nats) replicas = startReplicationWatch({ pairs: replication, nc: nats, registry, logger });
    else logger.warn('NATS unreachable; replication does not run until restart', { pairs: Object.keys(replication) });
  }
  // Availability, MTTR and MTBF over the last 30 days, recomputed from the audit stream every RUNBOOK_REPORT_REFRESH_MS.
  let availability: AvailabilityWatch | undefined;
  if (nats && config.reportRefreshMs > 0) availability = startAvailabilityWatch({ nc: nats, registry, logger, objectives, intervalMs: config.reportRefreshMs });
  logger.info('worker started', { services: Object.keys(services), backups: Object.keys(backups), replication: Object.keys(replication), taskQueue: config.taskQueue, namespace: config.namespace, mode: config.mode, port: config.workerMetricsPort });
  // Worker.run resolves after SIGINT/SIGTERM once in-flight tasks have drained.
  await worker.run();
  await freshness?.stop();
  await replicas?.stop();
  await availability?.stop();
  await closeHttpServer(http);
  await connection.close();
  await clientConnection.close();
  await bucket.close();
  await nats?.drain();
  logger.info('worker stopped');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
