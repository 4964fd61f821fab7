import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAuthorization, type NatsUserEntry } from '../config/nats-permissions';
import { httpGet } from '../platform/http-get';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { natsServerBinary } from './toolchain';
import { waitFor } from './wait-for';

/** Where and how to run nats-server. */
export interface NatsServerOptions {
  stateDir: string;
  port: number;
  monitorPort: number;
  /** The users (roles) the server accepts, with bcrypt hashes; without them the server takes anyone (tests of the refusal only). */
  users?: NatsUserEntry[];
  /** TLS on the client port: the server's certificate and key, and a CA to require client certificates signed by it (mutual TLS). */
  tls?: NatsServerTls;
  /** Told about the process as soon as it exists, before it is healthy (so it can be recorded). */
  onSpawn?: (proc: ManagedProcess) => void;
}

/** Files of the server's TLS block. */
export interface NatsServerTls {
  certFile: string;
  keyFile: string;
  /** With it, clients must present a certificate this CA signed. */
  clientCaFile?: string;
}

/** The `tls {}` block of nats-server's config. */
export function natsTlsBlock(tls: NatsServerTls): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(tls.certFile)}`,
    `  key_file: ${JSON.stringify(tls.keyFile)}`,
    ...(tls.clientCaFile ? [`  ca_file: ${JSON.stringify(tls.clientCaFile)}`, '  verify: true'] : []),
    '}',
    '',
  ].join('\n');
}

/** The `cluster {}` block of one node: its route port, the other nodes' route URLs, and the route credential. */
export interface NatsClusterBlock {
  name: string;
  port: number;
  /** Route ports of every node (this one's included; nats-server ignores a route to itself). */
  routePorts: number[];
  /** Every node authenticates routes with this user and password, so nobody else can join the cluster. */
  routeUser: string;
  routePassword: string;
}

/** What one nats-server config is rendered from; the single server's options plus what a cluster node needs. */
export interface NatsNodeConfig extends Omit<NatsServerOptions, 'onSpawn'> {
  /** Default `runbook-local`; every node of a cluster needs its own. */
  serverName?: string;
  /** JetStream's store; default `<stateDir>/nats`. */
  storeDir?: string;
  cluster?: NatsClusterBlock;
}

/** The cluster block; the route password sits in the (0600) config file because the route URLs must carry it. */
export function natsClusterBlock(c: NatsClusterBlock): string {
  const cred = `${encodeURIComponent(c.routeUser)}:${encodeURIComponent(c.routePassword)}`;
  return [
    'cluster {',
    `  name: ${JSON.stringify(c.name)}`,
    `  listen: 127.0.0.1:${c.port}`,
    '  authorization {',
    `    user: ${JSON.stringify(c.routeUser)}`,
    `    password: ${JSON.stringify(c.routePassword)}`,
    '  }',
    '  routes: [',
    ...c.routePorts.map((p) => `    ${JSON.stringify(`nats-route://${cred}@127.0.0.1:${p}`)}`),
    '  ]',
    '}',
    '',
  ].join('\n');
}

/**
 * nats-server configuration: loopback only, JetStream on disk, fsync before
 * every ack, each role's user and permissions (config/nats-permissions.ts),
 * TLS when asked, and a cluster block for a node of a cluster.
 */
export function natsServerConfig(opts: NatsNodeConfig): string {
  const storeDir = opts.storeDir ?? join(opts.stateDir, 'nats');
  return [
    `server_name: ${opts.serverName ?? 'runbook-local'}`,
    `listen: 127.0.0.1:${opts.port}`,
    `http: 127.0.0.1:${opts.monitorPort}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(storeDir)}`,
    '  sync_interval: always',
    '}',
    ...(opts.cluster ? [natsClusterBlock(opts.cluster)] : []),
    ...(opts.tls ? [natsTlsBlock(opts.tls)] : []),
    ...(opts.users ? [renderAuthorization(opts.users)] : []),
    '',
  ].join('\n');
}

/** Starts nats-server and resolves once JetStream reports healthy. */
export async function startNatsServer(opts: NatsServerOptions, timeoutMs = 30_000): Promise<ManagedProcess> {
  mkdirSync(join(opts.stateDir, 'nats'), { recursive: true });
  const configFile = join(opts.stateDir, 'nats', 'nats-server.conf');
  // The config holds only bcrypt hashes, but it is nobody else's business who the users are.
  writeFileSync(configFile, natsServerConfig(opts), { mode: 0o600 });
  const proc = startManagedProcess({
    name: 'nats',
    argv: [natsServerBinary(), '-c', configFile],
    logFile: join(opts.stateDir, 'logs', 'nats.log'),
  });
  opts.onSpawn?.(proc);
  try {
    await waitFor(`NATS on 127.0.0.1:${opts.port}`, timeoutMs, async () => {
      if (!proc.isRunning()) throw new Error(`nats-server exited early; see ${proc.logFile}`);
      return natsHealthy(opts.monitorPort);
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/** True when the monitoring endpoint says JetStream is up. */
export async function natsHealthy(monitorPort: number): Promise<boolean> {
  return natsHealthyAt(`http://127.0.0.1:${monitorPort}`);
}

/** True when the monitoring endpoint at `monitorUrl` (e.g. `http://127.0.0.1:8222`) says JetStream is up. */
export async function natsHealthyAt(monitorUrl: string): Promise<boolean> {
  try {
    return (await httpGet(`${monitorUrl.replace(/\/+$/, '')}/healthz?js-enabled-only=true`, 1_000)).ok;
  } catch {
    return false;
  }
}
