import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import type { DatabaseEndpoint } from './postgres';
import type { ClusterPorts } from './cluster-ports';
import { temporalClusterConfig, temporalClusterDynamicConfig } from './temporal-cluster-config';
import { ensureNamespace, ensureSearchAttributes } from './temporal-namespace';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { temporalHealthy } from './temporal-server';
import { temporalServerBinary } from './toolchain';
import { waitFor, WaitTimeoutError } from './wait-for';

/** Where and how to run the Temporal server on PostgreSQL. */
export interface TemporalClusterServerOptions {
  stateDir: string;
  ports: ClusterPorts;
  /** PostgreSQL with the schemas applied (see applyTemporalSchemas). */
  database: DatabaseEndpoint;
  namespace: string;
  numHistoryShards?: number;
  /** Told about the process as soon as it exists, before it is healthy (so it can be recorded). */
  onSpawn?: (proc: ManagedProcess) => void;
}

/** Files of the server under the state directory. */
export interface TemporalClusterPaths {
  configFile: string;
  dynamicConfigFile: string;
  logFile: string;
}

/** The layout {@link startTemporalClusterServer} uses under `stateDir`. */
export function temporalClusterPaths(stateDir: string): TemporalClusterPaths {
  const dir = join(stateDir, 'temporal-cluster');
  return {
    configFile: join(dir, 'config.yaml'),
    dynamicConfigFile: join(dir, 'dynamicconfig.yaml'),
    logFile: join(stateDir, 'logs', 'temporal-cluster.log'),
  };
}

/** Writes the config (mode 0600: it holds the database password) and the dynamic config; returns their paths. */
export function writeTemporalClusterConfig(opts: TemporalClusterServerOptions): TemporalClusterPaths {
  const paths = temporalClusterPaths(opts.stateDir);
  mkdirSync(join(opts.stateDir, 'temporal-cluster'), { recursive: true, mode: 0o700 });
  writeFileSync(paths.dynamicConfigFile, temporalClusterDynamicConfig());
  writeFileSync(
    paths.configFile,
    temporalClusterConfig({
      ports: opts.ports,
      database: opts.database,
      dynamicConfigFile: paths.dynamicConfigFile,
      ...(opts.numHistoryShards !== undefined ? { numHistoryShards: opts.numHistoryShards } : {}),
    }),
    { mode: 0o600 },
  );
  return paths;
}

/**
 * One step towards ready: the frontend answers, the namespace is registered
 * and every search attribute is added (each idempotently), and the namespace
 * reports them all.
 */
async function prepareNamespace(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await ensureNamespace(connection, namespace);
    await ensureSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
  return temporalHealthy({ address }, namespace);
}

/**
 * Starts the Temporal server (all roles in one process) on PostgreSQL and
 * resolves once its frontend serves `namespace` with the product's search
 * attributes. Stop it by pid with the returned process's `stop()`.
 */
export async function startTemporalClusterServer(opts: TemporalClusterServerOptions, timeoutMs = 120_000): Promise<ManagedProcess> {
  const paths = writeTemporalClusterConfig(opts);
  const proc = startManagedProcess({
    name: 'temporal-cluster',
    argv: [temporalServerBinary(), '--config-file', paths.configFile, '--allow-no-auth', 'start'],
    logFile: paths.logFile,
  });
  opts.onSpawn?.(proc);
  const address = `127.0.0.1:${opts.ports.frontend}`;
  let lastError: unknown;
  try {
    await waitFor(`Temporal server on ${address}`, timeoutMs, async () => {
      if (!proc.isRunning()) throw new Error(`temporal-server exited early; see ${proc.logFile}`);
      try {
        return await prepareNamespace(address, opts.namespace);
      } catch (err) {
        lastError = err;
        return false;
      }
    }, 500);
  } catch (err) {
    await proc.stop();
    if (err instanceof WaitTimeoutError && lastError) throw new WaitTimeoutError(`${err.message} (last error: ${String(lastError)})`, { cause: lastError });
    throw err;
  }
  return proc;
}
