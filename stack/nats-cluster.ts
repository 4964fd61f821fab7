import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NATS_CLUSTER_NAME, NATS_CLUSTER_NODES, NATS_ROUTE_USER } from '../config/nats-cluster-shape';
import type { NatsUserEntry } from '../config/nats-permissions';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { PortInUseError } from './ports';
import { natsHealthy, natsServerConfig } from './nats-server';
import { natsServerBinary } from './toolchain';
import { waitFor } from './wait-for';

/** Where and how to run a NATS cluster on loopback: one client, route and monitoring port per node. */
export interface NatsClusterOptions {
  stateDir: string;
  clientPorts: number[];
  clusterPorts: number[];
  monitorPorts: number[];
  /** The users (roles) every node accepts, as for the single server. */
  users?: NatsUserEntry[];
  /** Told about each node's process as soon as it exists (at start and at every restart). */
  onSpawn?: (proc: ManagedProcess) => void;
}

/** A running cluster. `urls` is the server list clients connect with (RUNBOOK_NATS_URL, comma-separated). */
export interface NatsCluster {
  nodes: { name: string; proc: ManagedProcess; clientPort: number; monitorPort: number }[];
  urls: string[];
  stop(): Promise<void>;
  /** Stops the node if it still runs, starts it again on its store, and resolves once it is healthy and sees a meta leader. */
  restartNode(index: number): Promise<void>;
}

/** Name of node `index` (0-based): the deployment's node names (`nats-1` …), then `nats-4`, … for larger test clusters. */
export function natsNodeName(index: number): string {
  return NATS_CLUSTER_NODES[index] ?? `nats-${index + 1}`;
}

/** The route password, generated once into the state directory (0600) so restarts and every node agree on it. */
export function ensureRoutePassword(stateDir: string): string {
  const dir = join(stateDir, 'nats');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'cluster-route.password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}

/** True when the node's monitoring endpoint names a JetStream meta leader. */
export async function natsMetaLeaderKnown(monitorPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/jsz`, { signal: AbortSignal.timeout(1_000) });
    if (!res.ok) return false;
    const body = (await res.json()) as { meta_cluster?: { leader?: string } };
    return Boolean(body.meta_cluster?.leader);
  } catch {
    return false;
  }
}

/** One node of a cluster, configured on disk and ready to be started (again) on its own store. */
export interface NatsClusterNode {
  name: string;
  clientPort: number;
  monitorPort: number;
  url: string;
  /**
   * Starts the node, calls `onSpawn` as soon as the process exists, and
   * resolves once it is healthy and sees a meta leader; stops it on failure.
   */
  start(onSpawn?: (proc: ManagedProcess) => void, timeoutMs?: number): Promise<ManagedProcess>;
}

/**
 * Writes the config of N nats-server nodes (N = clientPorts.length) on
 * 127.0.0.1 forming one JetStream cluster: each with its own server name and
 * store (`<stateDir>/nats/<name>`), fsync before every ack, the same users as
 * the single server, and routes that only nodes holding the route password
 * may open. Nothing is started; each node starts (and restarts) on its own,
 * so a supervisor can bring back one node while the others serve.
 */
export function prepareNatsCluster(opts: Omit<NatsClusterOptions, 'onSpawn'>): NatsClusterNode[] {
  const n = opts.clientPorts.length;
  if (n === 0 || opts.clusterPorts.length !== n || opts.monitorPorts.length !== n) {
    throw new Error(`a NATS cluster needs as many cluster and monitor ports as client ports (got ${n}, ${opts.clusterPorts.length}, ${opts.monitorPorts.length})`);
  }
  const routePassword = ensureRoutePassword(opts.stateDir);
  mkdirSync(join(opts.stateDir, 'logs'), { recursive: true });
  return opts.clientPorts.map((clientPort, i) => {
    const name = natsNodeName(i);
    const monitorPort = opts.monitorPorts[i] ?? 0;
    const storeDir = join(opts.stateDir, 'nats', name);
    mkdirSync(storeDir, { recursive: true });
    const configFile = join(opts.stateDir, 'nats', `${name}.conf`);
    const text = natsServerConfig({
      stateDir: opts.stateDir,
      serverName: name,
      storeDir,
      port: clientPort,
      monitorPort,
      ...(opts.users ? { users: opts.users } : {}),
      cluster: { name: NATS_CLUSTER_NAME, port: opts.clusterPorts[i] ?? 0, routePorts: opts.clusterPorts, routeUser: NATS_ROUTE_USER, routePassword },
    });
    // Holds the route password and who the users are: the owner's business only.
    writeFileSync(configFile, text, { mode: 0o600 });
    return {
      name,
      clientPort,
      monitorPort,
      url: `nats://127.0.0.1:${clientPort}`,
      async start(onSpawn, timeoutMs = 60_000) {
        const proc = startManagedProcess({ name, argv: [natsServerBinary(), '-c', configFile], logFile: join(opts.stateDir, 'logs', `${name}.log`) });
        onSpawn?.(proc);
        try {
          await waitFor(`NATS node ${name} on 127.0.0.1:${clientPort} with a JetStream meta leader`, timeoutMs, async () => {
            if (!proc.isRunning()) throw earlyExit(name, proc.logFile);
            return (await natsHealthy(monitorPort)) && natsMetaLeaderKnown(monitorPort);
          });
        } catch (err) {
          await proc.stop();
          throw err;
        }
        return proc;
      },
    };
  });
}

/**
 * Starts every node of {@link prepareNatsCluster} at once and resolves when
 * each is healthy and sees a meta leader; on failure every node started is
 * stopped.
 */
export async function startNatsCluster(opts: NatsClusterOptions, timeoutMs = 60_000): Promise<NatsCluster> {
  const prepared = prepareNatsCluster(opts);
  const nodes: NatsCluster['nodes'] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.proc.stop()));
  };
  const results = await Promise.allSettled(
    prepared.map((node, i) =>
      node.start((proc) => {
        nodes[i] = { name: node.name, proc, clientPort: node.clientPort, monitorPort: node.monitorPort };
        opts.onSpawn?.(proc);
      }, timeoutMs),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    nodes,
    urls: prepared.map((node) => node.url),
    stop,
    async restartNode(index) {
      const node = nodes[index];
      const how = prepared[index];
      if (!node || !how) throw new Error(`no NATS node ${index} (the cluster has ${nodes.length})`);
      await node.proc.stop();
      node.proc = await how.start((proc) => {
        node.proc = proc;
        opts.onSpawn?.(proc);
      }, timeoutMs);
    },
  };
}

/**
 * Why a node exited during start-up, from its log: a port another process
 * took after the stack checked it is a PortInUseError, so a caller that picks
 * ports can pick again; anything else carries the log's last line.
 */
function earlyExit(name: string, logFile: string): Error {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    // No log yet: the message below points at where it would be.
  }
  const clash = /listening on [a-z ]*port: [^\s,]*:(\d+)[^\n]*address already in use/i.exec(text);
  if (clash) return new PortInUseError(Number(clash[1]), `NATS node ${name}`, '--nats-port');
  const last = text.trim().split('\n').at(-1) ?? '';
  return new Error(`nats-server ${name} exited early${last ? `: ${last}` : ''}; see ${logFile}`);
}
