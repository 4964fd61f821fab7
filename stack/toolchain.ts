import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Root of the project checkout (this file lives in stack/). */
export const PROJECT_ROOT = resolve(__dirname, '..');

/** Pinned tool versions, read from the same file the setup script uses. */
export function pinnedVersions(): Record<string, string> {
  const text = readFileSync(join(PROJECT_ROOT, 'scripts', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m?.[1] && m[2]) out[m[1]] = m[2];
  }
  return out;
}

/** Directory where setup caches built binaries, outside the clone. */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.RUNBOOK_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'self-healing-runbooks');
}

/** A binary the setup script should have built and did not. */
export class ToolMissingError extends Error {
  override name = 'ToolMissingError';
}

function cachedBinary(tool: string, versionKey: string, binary: string): string {
  const version = pinnedVersions()[versionKey];
  if (!version) throw new ToolMissingError(`scripts/versions.env has no ${versionKey}`);
  const path = join(toolCacheDir(), `${tool}-${version}`, binary);
  if (!existsSync(path)) {
    throw new ToolMissingError(`${binary} ${version} is not built yet (looked for ${path}). Run: npm run setup`);
  }
  return path;
}

/** Path of the pinned Temporal CLI binary. */
export function temporalBinary(): string {
  return cachedBinary('temporal', 'TEMPORAL_CLI_VERSION', 'temporal');
}

/** Path of the pinned nats-server binary. */
export function natsServerBinary(): string {
  return cachedBinary('nats-server', 'NATS_SERVER_VERSION', 'nats-server');
}

/** Path of the pinned Temporal server binary (cluster mode). */
export function temporalServerBinary(): string {
  return cachedBinary('temporal-server', 'TEMPORAL_SERVER_VERSION', 'temporal-server');
}

/** Path of the pinned temporal-sql-tool, which creates and migrates the server's databases. */
export function temporalSqlToolBinary(): string {
  return cachedBinary('temporal-server', 'TEMPORAL_SERVER_VERSION', 'temporal-sql-tool');
}

/** The server's PostgreSQL schema directory (`temporal/versioned`, `visibility/versioned`), copied beside its binary. */
export function temporalPostgresSchemaDir(): string {
  return cachedBinary('temporal-server', 'TEMPORAL_SERVER_VERSION', join('schema', 'postgresql', 'v12'));
}

/** Path of the pinned Temporal Web UI server, or undefined when setup could not build it here. */
export function temporalUiServerBinary(): string | undefined {
  try {
    return cachedBinary('temporal-ui-server', 'TEMPORAL_UI_SERVER_VERSION', 'temporal-ui-server');
  } catch (err) {
    if (err instanceof ToolMissingError) return undefined;
    throw err;
  }
}

/** Directory of the pinned PostgreSQL major's programs (Debian's layout). */
export function postgresBinDir(): string {
  const major = pinnedVersions().POSTGRES_MAJOR;
  if (!major) throw new ToolMissingError('scripts/versions.env has no POSTGRES_MAJOR');
  const dir = join('/usr/lib/postgresql', major, 'bin');
  if (!existsSync(join(dir, 'postgres'))) {
    throw new ToolMissingError(`PostgreSQL ${major} is not installed (looked for ${dir}/postgres). Run: npm run setup (as root it installs postgresql-${major})`);
  }
  return dir;
}
