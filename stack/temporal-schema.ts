import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DatabaseEndpoint } from './postgres';
import { postgresBinDir, temporalPostgresSchemaDir, temporalSqlToolBinary } from './toolchain';

const run = promisify(execFile);

/** The Temporal server's two stores and the schema each takes (directory names under schema/postgresql/v12). */
export const TEMPORAL_DATABASES = [
  { database: 'temporal', schema: 'temporal' },
  { database: 'temporal_visibility', schema: 'visibility' },
] as const;

/** What applying one database's schema did. */
export interface SchemaResult {
  database: string;
  /** True when this run created the database. */
  created: boolean;
  /** `schema_version.curr_version` afterwards, e.g. "1.19". */
  version: string;
}

/** Where the tools live; defaults are setup's cached builds. */
export interface SchemaTools {
  sqlTool?: string;
  schemaDir?: string;
}

function clientEnv(endpoint: DatabaseEndpoint): NodeJS.ProcessEnv {
  // Passwords go through the environment, never argv (argv is visible in ps).
  return { ...process.env, PGPASSWORD: endpoint.password, SQL_PASSWORD: endpoint.password };
}

/** One value from a fixed query (never built from outside data) on `database`, or '' when there is no row. */
async function queryValue(endpoint: DatabaseEndpoint, database: string, sql: string): Promise<string> {
  const { stdout } = await run(
    join(postgresBinDir(), 'psql'),
    ['--host', endpoint.host, '--port', String(endpoint.port), '--username', endpoint.user, '--dbname', database, '--no-psqlrc', '--tuples-only', '--no-align', '--set', 'ON_ERROR_STOP=1', '--command', sql],
    { env: clientEnv(endpoint) },
  );
  return stdout.trim();
}

async function databaseExists(endpoint: DatabaseEndpoint, database: string): Promise<boolean> {
  const names = await queryValue(endpoint, 'postgres', 'SELECT datname FROM pg_database');
  return names.split('\n').includes(database);
}

/** The schema version recorded in `database`, or undefined before `setup-schema` ran there. */
export async function schemaVersion(endpoint: DatabaseEndpoint, database: string): Promise<string | undefined> {
  if (!(await databaseExists(endpoint, database))) return undefined;
  if ((await queryValue(endpoint, database, "SELECT to_regclass('public.schema_version') IS NOT NULL")) !== 't') return undefined;
  return (await queryValue(endpoint, database, 'SELECT curr_version FROM schema_version')) || undefined;
}

async function sqlTool(tool: string, endpoint: DatabaseEndpoint, database: string, command: string[]): Promise<void> {
  const argv = ['--plugin', 'postgres12', '--endpoint', endpoint.host, '--port', String(endpoint.port), '--user', endpoint.user, '--database', database, ...command];
  try {
    await run(tool, argv, { env: clientEnv(endpoint) });
  } catch (err) {
    const detail = (err as { stderr?: string; stdout?: string }).stderr || (err as { stdout?: string }).stdout || '';
    throw new Error(`temporal-sql-tool ${command[0] ?? ''} on ${database} failed: ${detail.trim().slice(-2000)}`, { cause: err });
  }
}

/**
 * Creates the `temporal` and `temporal_visibility` databases when missing,
 * runs `setup-schema -v 0.0` once per database, then `update-schema` up to
 * the newest version the server's schema files hold. Safe to run again: an
 * up-to-date database is left as it is.
 */
export async function applyTemporalSchemas(endpoint: DatabaseEndpoint, tools: SchemaTools = {}): Promise<SchemaResult[]> {
  const tool = tools.sqlTool ?? temporalSqlToolBinary();
  const schemaDir = tools.schemaDir ?? temporalPostgresSchemaDir();
  const results: SchemaResult[] = [];
  for (const { database, schema } of TEMPORAL_DATABASES) {
    const created = !(await databaseExists(endpoint, database));
    if (created) await sqlTool(tool, endpoint, database, ['create-database', '--defaultdb', 'postgres']);
    if ((await schemaVersion(endpoint, database)) === undefined) await sqlTool(tool, endpoint, database, ['setup-schema', '-v', '0.0']);
    await sqlTool(tool, endpoint, database, ['update-schema', '-d', join(schemaDir, schema, 'versioned')]);
    const version = await schemaVersion(endpoint, database);
    if (!version) throw new Error(`${database} has no schema version after update-schema`);
    results.push({ database, created, version });
  }
  return results;
}
