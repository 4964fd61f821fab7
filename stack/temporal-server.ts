import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '@temporalio/client';
import type { TemporalConnectOptions } from '../config/temporal-connection';
import type { TemporalHttpClient } from '../platform/temporal-http';
import { SEARCH_ATTRIBUTES } from './search-attributes';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { temporalBinary } from './toolchain';
import { waitFor } from './wait-for';

/** Where and how to run the Temporal dev server. */
export interface TemporalServerOptions {
  stateDir: string;
  port: number;
  uiPort: number;
  /** The frontend's HTTP API (grpc-gateway); the dev server picks a free one when unset. */
  httpPort?: number;
  namespace: string;
  /** Headless servers skip the Web UI (tests). */
  headless?: boolean;
  /** Told about the process as soon as it exists, before it is healthy (so it can be recorded). */
  onSpawn?: (proc: ManagedProcess) => void;
}

/** argv for `temporal server start-dev` with on-disk SQLite in WAL mode and our search attributes. */
export function temporalServerArgv(opts: TemporalServerOptions): string[] {
  const argv = [
    temporalBinary(),
    'server',
    'start-dev',
    '--db-filename',
    join(opts.stateDir, 'temporal', 'temporal.db'),
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=full',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    ...(opts.httpPort !== undefined ? ['--http-port', String(opts.httpPort)] : []),
    '--namespace',
    opts.namespace,
    '--log-level',
    'warn',
    '--log-format',
    'json',
  ];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) argv.push('--search-attribute', `${name}=${type}`);
  if (opts.headless) argv.push('--headless');
  else argv.push('--ui-port', String(opts.uiPort), '--ui-ip', '127.0.0.1');
  return argv;
}

/** Starts the dev server and resolves once its frontend answers and the namespace exists. */
export async function startTemporalServer(opts: TemporalServerOptions, timeoutMs = 60_000): Promise<ManagedProcess> {
  mkdirSync(join(opts.stateDir, 'temporal'), { recursive: true });
  const proc = startManagedProcess({
    name: 'temporal',
    argv: temporalServerArgv(opts),
    logFile: join(opts.stateDir, 'logs', 'temporal.log'),
  });
  opts.onSpawn?.(proc);
  try {
    await waitFor(`Temporal on 127.0.0.1:${opts.port}`, timeoutMs, async () => {
      if (!proc.isRunning()) throw new Error(`temporal exited early; see ${proc.logFile}`);
      return temporalHealthy({ address: `127.0.0.1:${opts.port}` }, opts.namespace);
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}

/**
 * True when the frontend serves the namespace with every search attribute
 * registered; `temporal` comes from temporalConnectOptions (our own dev
 * server is plain, `{ address }`).
 */
export async function temporalHealthy(temporal: TemporalConnectOptions, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    // Required here, not imported: `runbook status` checks over HTTP and never loads the gRPC client.
    const { Connection } = require('@temporalio/client') as typeof import('@temporalio/client');
    connection = await Connection.connect({ ...temporal, connectTimeout: 1_000 });
    const res = await connection.operatorService.listSearchAttributes({ namespace });
    const have = Object.keys(res.customAttributes ?? {});
    return Object.keys(SEARCH_ATTRIBUTES).every((name) => have.includes(name));
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

/** {@link temporalHealthy} over the frontend's HTTP API, for the namespace `http` was made for. */
export async function temporalHttpHealthy(http: TemporalHttpClient): Promise<boolean> {
  try {
    const res = (await http.call('GET', ['search-attributes'])) as { customAttributes?: Record<string, unknown> };
    const have = Object.keys(res.customAttributes ?? {});
    return Object.keys(SEARCH_ATTRIBUTES).every((name) => have.includes(name));
  } catch {
    return false;
  }
}
