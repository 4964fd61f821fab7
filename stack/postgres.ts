import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { databaseUser, ensureReachable, type DatabaseUser } from './database-user';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { postgresBinDir } from './toolchain';
import { waitFor } from './wait-for';

const run = promisify(execFile);

/** Where a database server listens and whom clients log in as. */
export interface DatabaseEndpoint {
  host: string;
  port: number;
  user: string;
  /** Read from the state directory; never put it in argv or a log line. */
  password: string;
}

/**
 * Port of a cluster's PostgreSQL unless told otherwise: not 5432, so a system
 * PostgreSQL on the same machine is left alone.
 * @default 15432
 */
export const DEFAULT_POSTGRES_PORT = 15432;

/** The role initdb creates, which owns the Temporal databases. */
export const POSTGRES_ROLE = 'temporal';

/** Where and how to run PostgreSQL. */
export interface PostgresOptions {
  stateDir: string;
  port: number;
  /** Whom the server runs as; default {@link databaseUser}(). */
  user?: DatabaseUser;
  /** Told about the process as soon as it exists, before it is ready (so it can be recorded). */
  onSpawn?: (proc: ManagedProcess) => void;
}

/** Files of one PostgreSQL instance under a state directory. */
export interface PostgresPaths {
  /** Owned by the database account: data and socket directories live here. */
  root: string;
  dataDir: string;
  socketDir: string;
  /** The role's password, readable by the caller only. */
  passwordFile: string;
  logFile: string;
}

/** A running PostgreSQL instance. */
export interface PostgresServer {
  proc: ManagedProcess;
  endpoint: DatabaseEndpoint;
  paths: PostgresPaths;
  /** Fast shutdown (SIGINT: clients are disconnected), then whatever is left of the group. */
  stop(): Promise<void>;
}

/** The layout {@link startPostgres} uses under `stateDir`. */
export function postgresPaths(stateDir: string): PostgresPaths {
  const root = join(stateDir, 'postgres');
  return {
    root,
    dataDir: join(root, 'data'),
    socketDir: join(root, 'run'),
    passwordFile: join(stateDir, 'postgres.password'),
    logFile: join(stateDir, 'logs', 'postgres.log'),
  };
}

function ensurePassword(file: string): string {
  if (!existsSync(file)) writeFileSync(file, `${randomBytes(24).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return readFileSync(file, 'utf8').trim();
}

/**
 * Creates the data directory with `initdb` unless it already holds a cluster.
 * The role {@link POSTGRES_ROLE} gets a random password kept in the state
 * directory, and only password logins (scram) are accepted.
 */
export async function initPostgres(stateDir: string, user: DatabaseUser = databaseUser()): Promise<PostgresPaths> {
  const paths = postgresPaths(stateDir);
  const password = ensurePassword(paths.passwordFile);
  if (existsSync(join(paths.dataDir, 'PG_VERSION'))) return paths;
  mkdirSync(paths.socketDir, { recursive: true, mode: 0o700 });
  // initdb reads the password from a file; this copy is the database account's and lives only as long as initdb.
  const pwfile = join(paths.root, 'initdb.pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  user.own(paths.root);
  ensureReachable(user, stateDir, paths.root);
  const [command, ...args] = user.wrap([
    join(postgresBinDir(), 'initdb'),
    '--pgdata', paths.dataDir,
    '--username', POSTGRES_ROLE,
    `--pwfile=${pwfile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--no-locale',
  ]);
  try {
    await run(command ?? 'initdb', args);
  } catch (err) {
    rmSync(paths.dataDir, { recursive: true, force: true });
    throw new Error(`initdb failed for ${paths.dataDir}`, { cause: err });
  } finally {
    rmSync(pwfile, { force: true });
  }
  return paths;
}

/** True when the server on 127.0.0.1:`port` accepts connections. */
export async function postgresReady(port: number): Promise<boolean> {
  try {
    await run(join(postgresBinDir(), 'pg_isready'), ['--host', '127.0.0.1', '--port', String(port), '--quiet', '--timeout', '1']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `initdb` once, then `postgres` on 127.0.0.1:`port` with its socket in
 * the state directory (no system service), and resolves once it accepts
 * connections.
 */
export async function startPostgres(opts: PostgresOptions, timeoutMs = 60_000): Promise<PostgresServer> {
  const user = opts.user ?? databaseUser();
  const paths = await initPostgres(opts.stateDir, user);
  const proc = startManagedProcess({
    name: 'postgres',
    argv: user.wrap([
      join(postgresBinDir(), 'postgres'),
      '-D', paths.dataDir,
      '-p', String(opts.port),
      '-k', paths.socketDir,
      '-c', 'listen_addresses=127.0.0.1',
    ]),
    logFile: paths.logFile,
  });
  opts.onSpawn?.(proc);
  const server: PostgresServer = {
    proc,
    paths,
    endpoint: { host: '127.0.0.1', port: opts.port, user: POSTGRES_ROLE, password: ensurePassword(paths.passwordFile) },
    stop: () => stopPostgres(proc),
  };
  try {
    await waitFor(`PostgreSQL on 127.0.0.1:${opts.port}`, timeoutMs, async () => {
      if (!proc.isRunning()) throw new Error(`postgres exited early; see ${proc.logFile}`);
      return postgresReady(opts.port);
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

/** SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave. */
async function stopPostgres(proc: ManagedProcess, graceMs = 30_000): Promise<void> {
  if (proc.isRunning()) {
    try {
      process.kill(proc.pid, 'SIGINT');
    } catch {
      // Already gone.
    }
    await waitFor('PostgreSQL to shut down', graceMs, () => !proc.isRunning()).catch(() => undefined);
  }
  await proc.stop();
}
