import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsUserEntry } from '../config/nats-permissions';
import { startManagedProcess, type ManagedProcess } from './managed-process';
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

/** The cluster's name in every node's `cluster {}` block. */
export const NATS_CLUSTER_NAME = 'runbook';
/** The user nodes authenticate routes with. */
export const NATS_ROUTE_USER = 'route';

/** Name of node `index` (0-based): `nats-1`, `nats-2`, … */
export function natsNodeName(index: number): string {
  return `nats-${index + 1}`;
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

/**
 * Starts N nats-server nodes (N = clientPorts.length) on 127.0.0.1 as one
 * JetStream cluster: each with its own server name and store
 * (`<stateDir>/nats/<name>`), fsync before every ack, the same users as the
 * single server, and routes that only nodes holding the route password may
 * open. Resolves when every node is healthy and sees a meta leader; on
 * failure every node started is stopped.
 */
export async function startNatsCluster(opts: NatsClusterOptions, timeoutMs = 60_000): Promise<NatsCluster> {
  const n = opts.clientPorts.length;
  if (n === 0 || opts.clusterPorts.length !== n || opts.monitorPorts.length !== n) {
    throw new Error(`a NATS cluster needs as many cluster and monitor ports as client ports (got ${n}, ${opts.clusterPorts.length}, ${opts.monitorPorts.length})`);
  }
  const routePassword = ensureRoutePassword(opts.stateDir);
  const configFiles = opts.clientPorts.map((clientPort, i) => {
    const name = natsNodeName(i);
    const storeDir = join(opts.stateDir, 'nats', name);
    mkdirSync(storeDir, { recursive: true });
    const file = join(opts.stateDir, 'nats', `${name}.conf`);
    const text = natsServerConfig({
      stateDir: opts.stateDir,
      serverName: name,
      storeDir,
      port: clientPort,
      monitorPort: opts.monitorPorts[i] ?? 0,
      ...(opts.users ? { users: opts.users } : {}),
      cluster: { name: NATS_CLUSTER_NAME, port: opts.clusterPorts[i] ?? 0, routePorts: opts.clusterPorts, routeUser: NATS_ROUTE_USER, routePassword },
    });
    // Holds the route password and who the users are: the owner's business only.
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  });
  const spawn = (i: number): ManagedProcess => {
    const name = natsNodeName(i);
    const proc = startManagedProcess({ name, argv: [natsServerBinary(), '-c', configFiles[i] ?? ''], logFile: join(opts.stateDir, 'logs', `${name}.log`) });
    opts.onSpawn?.(proc);
    return proc;
  };
  const nodes = opts.clientPorts.map((clientPort, i) => ({ name: natsNodeName(i), proc: spawn(i), clientPort, monitorPort: opts.monitorPorts[i] ?? 0 }));
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.proc.stop()));
  };
  const ready = async (node: (typeof nodes)[number], ms: number): Promise<void> => {
    await waitFor(`NATS node ${node.name} on 127.0.0.1:${node.clientPort} with a JetStream meta leader`, ms, async () => {
      if (!node.proc.isRunning()) throw new Error(`nats-server ${node.name} exited early; see ${node.proc.logFile}`);
      return (await natsHealthy(node.monitorPort)) && natsMetaLeaderKnown(node.monitorPort);
    });
  };
  try {
    await Promise.all(nodes.map((node) => ready(node, timeoutMs)));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes,
    urls: nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`),
    stop,
    async restartNode(index) {
      const node = nodes[index];
      if (!node) throw new Error(`no NATS node ${index} (the cluster has ${nodes.length})`);
      await node.proc.stop();
      node.proc = spawn(index);
      await ready(node, timeoutMs);
    },
  };
}
