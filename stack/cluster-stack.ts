import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV, type Config } from '../config/config';
import { NATS_CLUSTER_NODES } from '../config/nats-cluster-shape';
import { credentialsDir, ensureNatsCredentials } from '../config/nats-credentials';
import type { NatsUserEntry } from '../config/nats-permissions';
import { createLogger, type Logger } from '../observability/logger';
import { clusterPortsAt, DEFAULT_CLUSTER_PORTS, type ClusterPorts } from './cluster-ports';
import type { Respawn } from './component-supervisor';
import { componentTable, type ComponentSlot } from './component-table';
import { databaseUser } from './database-user';
import { checkHealth } from './health';
import { componentEnv, nodeEntryArgv, prepareStackCredentials, provisionNats } from './local-stack';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { prepareNatsCluster } from './nats-cluster';
import { assertPortFree } from './ports';
import { DEFAULT_POSTGRES_PORT, startPostgres, type DatabaseEndpoint } from './postgres';
import { processStartTime } from './process-identity';
import type { RestartPolicy } from './restart-policy';
import { stackFilePath, writeStackFile, type HealthCheck, type StackInfo } from './stack-file';
import { startTemporalClusterServer } from './temporal-cluster-server';
import { applyTemporalSchemas, type SchemaResult } from './temporal-schema';
import { waitFor } from './wait-for';

/** How many workers and intakes the cluster stack runs. */
export const CLUSTER_REPLICAS = 2;
/** How many nats-server nodes: the deployment's, so every stream keeps a majority of its replicas when one node is lost. */
export const NATS_NODES = NATS_CLUSTER_NODES.length;

/**
 * Ports of `runbook up --cluster` unless told otherwise: the embedded stack's
 * moved by 10000, so both can run side by side (from different state
 * directories). A replica takes the port after the one before it.
 */
export const CLUSTER_DEFAULT_PORTS = {
  temporalPort: DEFAULT_CLUSTER_PORTS.frontend,
  natsPort: 14222,
  natsMonitorPort: 18222,
  natsClusterPort: 16222,
  intakePort: 19110,
  workerMetricsPort: 19112,
  apiPort: 19120,
  postgresPort: DEFAULT_POSTGRES_PORT,
} as const;

/** The cluster's defaults as environment beneath the caller's, so flags > environment > these. */
export function clusterDefaultEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const defaults = Object.fromEntries(Object.entries(CLUSTER_DEFAULT_PORTS).map(([key, port]) => [ENV[key as keyof typeof CLUSTER_DEFAULT_PORTS], String(port)]));
  return { ...defaults, ...env };
}

/** Where the cluster's servers keep their data, config and logs: apart from the embedded stack's. */
export function clusterDir(stateDir: string): string {
  return join(stateDir, 'cluster');
}

/** Options for {@link startClusterStack}. */
export interface ClusterStackOptions {
  log?: (line: string) => void;
  /** Restart a component that dies on its own, with this policy. */
  restart: RestartPolicy;
  logger?: Logger;
}

/** A running cluster stack. */
export interface ClusterStack {
  info: StackInfo;
  /** What applying the schemas did this time (a database created, or left as it was). */
  schemas: SchemaResult[];
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/** Ports of each NATS node: client, monitoring and route ports counting up from the configured first ones. */
export function natsTierPorts(config: Pick<Config, 'natsPort' | 'natsMonitorPort' | 'natsClusterPort'>): { clientPorts: number[]; monitorPorts: number[]; clusterPorts: number[] } {
  const from = (first: number): number[] => Array.from({ length: NATS_NODES }, (_, i) => first + i);
  return { clientPorts: from(config.natsPort), monitorPorts: from(config.natsMonitorPort), clusterPorts: from(config.natsClusterPort) };
}

/** One server of the NATS tier, with how to start it again on its own store. */
export interface NatsTierNode {
  name: string;
  url: string;
  clientPort: number;
  monitorPort: number;
  respawn: Respawn;
}

/** The NATS tier's nodes, configured on disk; {@link startClusterStack} starts and supervises each on its own. */
export function natsTier(dir: string, config: Config, users: NatsUserEntry[]): NatsTierNode[] {
  return prepareNatsCluster({ stateDir: dir, users, ...natsTierPorts(config) }).map((node) => ({
    name: node.name,
    url: node.url,
    clientPort: node.clientPort,
    monitorPort: node.monitorPort,
    respawn: (onSpawn) => node.start(onSpawn),
  }));
}

/** The same process under another component name, or with another way to stop it. */
function named(proc: ManagedProcess, name: string, stop = proc.stop): ManagedProcess {
  return { name, pid: proc.pid, logFile: proc.logFile, exited: proc.exited, isRunning: proc.isRunning, stop };
}

/** Ports of the replicas of one of our components: `first`, `first + 1`, … */
function replicaPorts(first: number): number[] {
  return Array.from({ length: CLUSTER_REPLICAS }, (_, i) => first + i);
}

/**
 * PostgreSQL (initdb once), the Temporal schemas (applied idempotently), the
 * Temporal server on them, the NATS tier, then two workers, two intakes
 * (sharing the durable consumer) and the approval API; resolves once each is
 * healthy, every component recorded in stack.json from the moment it exists
 * and restarted by `opts.restart` when it dies. On a failure during start-up
 * it stops what it started and rethrows.
 */
export async function startClusterStack(given: Config, opts: ClusterStackOptions): Promise<ClusterStack> {
  const log = opts.log ?? (() => undefined);
  const logger = opts.logger ?? createLogger('stack', given.logLevel);
  const stateDir = resolve(given.stateDir);
  const dir = clusterDir(stateDir);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  mkdirSync(dir, { recursive: true });
  // PostgreSQL runs as its own account when we are root; it must be able to enter the state directory to reach its own.
  if (databaseUser().switches) chmodSync(stateDir, statSync(stateDir).mode | 0o001);
  const { config, operator } = await prepareStackCredentials(given, stateDir, { log });
  rmSync(stackFilePath(stateDir), { force: true });
  const natsUsers = ensureNatsCredentials(credentialsDir(stateDir));

  const temporalPorts: ClusterPorts = clusterPortsAt(config.temporalPort);
  const natsPorts = natsTierPorts(config);
  const intakePorts = replicaPorts(config.intakePort);
  const workerPorts = replicaPorts(config.workerMetricsPort);
  const wanted: [number, string, string][] = [
    [config.postgresPort, 'PostgreSQL', '--postgres-port'],
    ...Object.entries(temporalPorts).map(([role, port]): [number, string, string] => [port, `Temporal ${role}`, '--temporal-port']),
    ...natsPorts.clientPorts.map((port, i): [number, string, string] => [port, `nats-${i + 1} client`, '--nats-port']),
    ...natsPorts.monitorPorts.map((port, i): [number, string, string] => [port, `nats-${i + 1} monitoring`, '--nats-monitor-port']),
    ...natsPorts.clusterPorts.map((port, i): [number, string, string] => [port, `nats-${i + 1} routes`, '--nats-cluster-port']),
    ...intakePorts.map((port, i): [number, string, string] => [port, `intake-${i + 1} HTTP`, '--intake-port']),
    ...workerPorts.map((port, i): [number, string, string] => [port, `worker-${i + 1} metrics`, '--worker-metrics-port']),
    [config.apiPort, 'approval API', '--api-port'],
  ];
  for (const [port, purpose, flag] of wanted) await assertPortFree(port, purpose, flag);

  const temporalAddress = `127.0.0.1:${temporalPorts.frontend}`;
  const nats = natsTier(dir, config, natsUsers);
  const natsUrls = nats.map((n) => n.url);
  // Every process gets the whole server list, so it reconnects to another node when one is lost.
  const natsUrl = natsUrls.join(',');
  const http = (port: number): HealthCheck => ({ kind: 'http', url: `http://127.0.0.1:${port}` });
  const slots: ComponentSlot[] = [
    { name: 'postgres', port: config.postgresPort, health: { kind: 'postgres', port: config.postgresPort } },
    { name: 'temporal-server', port: temporalPorts.frontend, health: { kind: 'temporal', address: temporalAddress } },
    ...nats.map((n) => ({ name: n.name, port: n.clientPort, health: { kind: 'nats' as const, url: n.url, monitorPort: n.monitorPort } })),
    ...workerPorts.map((port, i) => ({ name: `worker-${i + 1}`, port, health: http(port) })),
    ...intakePorts.map((port, i) => ({ name: `intake-${i + 1}`, port, health: http(port) })),
    { name: 'api', port: config.apiPort, health: http(config.apiPort) },
  ];
  const supervisorStartTime = processStartTime(process.pid);
  const info: StackInfo = {
    supervisorPid: process.pid,
    ...(supervisorStartTime ? { supervisorStartTime } : {}),
    kind: 'cluster',
    ready: false,
    startedAt: new Date().toISOString(),
    stateDir,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    temporalAddress,
    temporalHttpAddress: `127.0.0.1:${temporalPorts.frontendHttp}`,
    natsUrl,
    natsUrls,
    natsMonitorUrl: nats.map((n) => `http://127.0.0.1:${n.monitorPort}`).join(','),
    intakeUrl: `http://127.0.0.1:${intakePorts[0] ?? config.intakePort}`,
    ...(config.intakeWebhookTokenFile ? { intakeWebhookTokenFile: resolve(config.intakeWebhookTokenFile) } : {}),
    workerUrl: `http://127.0.0.1:${workerPorts[0] ?? config.workerMetricsPort}`,
    ...(config.rosterFile ? { rosterFile: resolve(config.rosterFile) } : {}),
    ...(operator ? { operatorTokenFile: operator.tokenFile } : {}),
    ports: {
      postgres: config.postgresPort,
      temporal: temporalPorts.frontend,
      nats: config.natsPort,
      natsMonitor: config.natsMonitorPort,
      intake: intakePorts[0] ?? config.intakePort,
      worker: workerPorts[0] ?? config.workerMetricsPort,
      api: config.apiPort,
    },
    components: {},
  };
  writeStackFile(info);
  const table = componentTable(info, slots);
  const place = (proc: ManagedProcess): void => table.place(proc);
  const started: [ManagedProcess, Respawn][] = [];
  let database: DatabaseEndpoint | undefined;
  let schemas: SchemaResult[] = [];

  const postgres: Respawn = async (onSpawn) => {
    const server = await startPostgres({ stateDir: dir, port: config.postgresPort, onSpawn: (p) => onSpawn(named(p, 'postgres', () => server.stop())) });
    database = server.endpoint;
    return named(server.proc, 'postgres', () => server.stop());
  };
  const temporal: Respawn = async (onSpawn) => {
    if (!database) throw new Error('PostgreSQL is not up');
    const proc = await startTemporalClusterServer({ stateDir: dir, ports: temporalPorts, database, namespace: config.namespace, onSpawn: (p) => onSpawn(named(p, 'temporal-server')) });
    return named(proc, 'temporal-server');
  };
  const env = componentEnv({ ...config, stateDir, temporalAddress, natsUrl });
  const ours = (name: string, entry: string, overrides: NodeJS.ProcessEnv, health: HealthCheck): Respawn => async (onSpawn) => {
    const proc = startManagedProcess({ name, argv: nodeEntryArgv(entry), env: { ...env, ...overrides }, logFile: join(stateDir, 'logs', `${name}.log`) });
    onSpawn(proc);
    try {
      await waitFor(`${name} to become healthy`, 60_000, async () => {
        if (!proc.isRunning()) throw new Error(`${name} exited during start-up; see ${proc.logFile}`);
        return (await checkHealth(name, health, config.namespace)).healthy;
      });
    } catch (err) {
      await proc.stop();
      throw err;
    }
    return proc;
  };
  const components: [string, Respawn][] = [
    ...workerPorts.map((port, i): [string, Respawn] => [`worker-${i + 1}`, ours(`worker-${i + 1}`, 'workers/worker.ts', { [ENV.workerMetricsPort]: String(port) }, http(port))]),
    ...intakePorts.map((port, i): [string, Respawn] => [`intake-${i + 1}`, ours(`intake-${i + 1}`, 'workers/intake.ts', { [ENV.intakePort]: String(port) }, http(port))]),
    ['api', ours('api', 'workers/api.ts', {}, http(config.apiPort))],
  ];

  try {
    log(`starting PostgreSQL (127.0.0.1:${config.postgresPort}) in ${dir}`);
    started.push([await postgres(place), postgres]);
    if (!database) throw new Error('PostgreSQL is not up');
    schemas = await applyTemporalSchemas(database);
    log(`Temporal schemas: ${schemas.map((s) => `${s.database} ${s.version}${s.created ? ' (created)' : ''}`).join(', ')}`);
    log(`starting the Temporal server (${temporalAddress}) and ${nats.length} NATS nodes (${natsUrls.join(', ')})`);
    const servers: [string, Respawn][] = [['temporal-server', temporal], ...nats.map((n): [string, Respawn] => [n.name, n.respawn])];
    const up = await Promise.allSettled(servers.map(async ([, respawn]) => [await respawn(place), respawn] as [ManagedProcess, Respawn]));
    for (const r of up) if (r.status === 'fulfilled') started.push(r.value);
    for (const r of up) if (r.status === 'rejected') throw r.reason;
    await provisionNats(env, stateDir);
    log(`starting ${components.map(([name]) => (name === 'api' ? 'the approval API' : name)).join(', ')}`);
    const results = await Promise.allSettled(components.map(async ([, respawn]) => [await respawn(place), respawn] as [ManagedProcess, Respawn]));
    for (const r of results) if (r.status === 'fulfilled') started.push(r.value);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  } catch (err) {
    await table.stop();
    throw err;
  }
  for (const [first, respawn] of started) table.supervise(first, respawn, opts.restart, logger);
  info.ready = true;
  writeStackFile(info);
  return { info, schemas, processes: table.processes, stop: () => table.stop() };
}
