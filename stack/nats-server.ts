import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAuthorization, type NatsUserEntry } from '../config/nats-permissions';
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

/**
 * nats-server configuration: loopback only, JetStream on disk, fsync before
 * every ack, each role's user and permissions (config/nats-permissions.ts),
 * and TLS when asked.
 */
export function natsServerConfig(opts: NatsServerOptions): string {
  const storeDir = join(opts.stateDir, 'nats');
  return [
    'server_name: runbook-local',
    `listen: 127.0.0.1:${opts.port}`,
    `http: 127.0.0.1:${opts.monitorPort}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(storeDir)}`,
    '  sync_interval: always',
    '}',
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
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`, {
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}
