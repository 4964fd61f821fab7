import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config';
import { connectNats } from '../config/nats-connect';
import { credentialsDir, ensureNatsCredentials } from '../config/nats-credentials';
import { freeClusterPorts } from '../stack/cluster-ports';
import { startComponentProcess } from '../stack/component-process';
import { databaseUser } from '../stack/database-user';
import { componentEnv, prepareStackCredentials, provisionNats } from '../stack/local-stack';
import { startNatsCluster } from '../stack/nats-cluster';
import { freePorts } from '../stack/ports';
import { startPostgres, type PostgresServer } from '../stack/postgres';
import { startTemporalClusterServer } from '../stack/temporal-cluster-server';
import { DEFAULT_HISTORY_SHARDS } from '../stack/temporal-cluster-config';
import { applyTemporalSchemas } from '../stack/temporal-schema';
import type { BenchStack, BenchStackOptions, StackProvider, StackProviderOptions } from './bench-stack';

/** Nodes of the NATS tier, as `runbook up --cluster` runs it: every stream at three replicas. */
export const BENCH_NATS_NODES = 3;

/**
 * The distributed engines of `runbook up --cluster`: PostgreSQL, the Temporal
 * server on it (all roles, several history shards) and a three-node NATS
 * JetStream cluster, each stack on its own free ports and state directory.
 * Our workers, intakes and API are not part of it: each benchmark starts the
 * processes it measures, as on the embedded stack.
 */
export function clusterStacks(opts: StackProviderOptions): StackProvider {
  return {
    kind: 'cluster',
    engines:
      `Temporal server on PostgreSQL (all roles in one process, ${DEFAULT_HISTORY_SHARDS} history shards), ` +
      `${BENCH_NATS_NODES} nats-server nodes clustered on loopback (every stream at ${BENCH_NATS_NODES} replicas, fsync before ack)`,
    start: (o) => startClusterBenchStack(opts, o),
  };
}

async function startClusterBenchStack(opts: StackProviderOptions, o: BenchStackOptions = {}): Promise<BenchStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'runbook-bench-cluster-'));
  // PostgreSQL runs as its own account when we are root; it must be able to enter the state directory.
  if (databaseUser().switches) chmodSync(stateDir, statSync(stateDir).mode | 0o001);
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const temporalPorts = await freeClusterPorts();
    const ports = await freePorts(4 + 3 * BENCH_NATS_NODES);
    const [postgresPort, intakePort, workerMetricsPort, apiPort] = ports;
    const natsPorts = ports.slice(4);
    const clientPorts = natsPorts.slice(0, BENCH_NATS_NODES);
    const clusterPorts = natsPorts.slice(BENCH_NATS_NODES, 2 * BENCH_NATS_NODES);
    const monitorPorts = natsPorts.slice(2 * BENCH_NATS_NODES);
    const given = loadConfig(
      {
        stateDir,
        temporalAddress: `127.0.0.1:${temporalPorts.frontend}`,
        natsUrl: clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(','),
        natsMonitorPort: monitorPorts[0],
        postgresPort,
        intakePort,
        workerMetricsPort,
        apiPort,
        workflowBundle: opts.workflowBundle,
        ...o.overrides,
      },
      {},
    );
    const { config } = await prepareStackCredentials(given, stateDir, { log: () => undefined, localRoster: false });
    const users = ensureNatsCredentials(credentialsDir(stateDir));

    const pg: PostgresServer = await startPostgres({ stateDir, port: config.postgresPort });
    stops.push(() => pg.stop());
    await applyTemporalSchemas(pg.endpoint);
    const [temporal, nats] = await Promise.allSettled([
      startTemporalClusterServer({ stateDir, ports: temporalPorts, database: pg.endpoint, namespace: config.namespace }),
      startNatsCluster({ stateDir, clientPorts, clusterPorts, monitorPorts, users }),
    ]);
    if (temporal.status === 'fulfilled') stops.push(() => temporal.value.stop());
    if (nats.status === 'fulfilled') stops.push(() => nats.value.stop());
    if (temporal.status === 'rejected') throw temporal.reason;
    if (nats.status === 'rejected') throw nats.reason;
    const env = componentEnv(config);
    await provisionNats(env, stateDir);
    if (o.intake) {
      const intake = await startComponentProcess({ name: 'intake', entry: 'workers/intake.ts', env, logDir: join(stateDir, 'logs'), healthPort: config.intakePort });
      stops.push(() => intake.stop());
    }
    return { kind: 'cluster', config, env, natsConnect: (role, extras) => connectNats(config, role, extras), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
