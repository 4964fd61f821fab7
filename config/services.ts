import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ServicesFile, type ServiceEntry, type ServiceSpec } from '../schemas/service-spec';
import { ConfigError } from './config';
import { parseYamlConfig } from './yaml-config-file';

/**
 * The service registry: which programs `supervisor: { service }` actions may
 * start, stop and restart. A YAML (or JSON) file maps each service name to its
 * process spec:
 *
 * ```yaml
 * app-standby:
 *   argv: [/usr/bin/node, /opt/app/server.js, "8082"]
 *   cwd: /opt/app
 *   env: { NODE_ENV: production }
 *   pidFile: /run/app/standby.pid
 *   logFile: /var/log/app/standby.log
 *   health: { kind: http, url: "http://127.0.0.1:8082/health", timeoutMs: 1000 }
 *   startTimeoutMs: 20000
 * ```
 *
 * Relative `cwd`, `pidFile` and `logFile` are taken from the file's directory.
 */

/** A registry entry as the activities use it: the supervisor spec plus its timeouts. */
export type RegisteredService = ServiceSpec & Pick<ServiceEntry, 'startTimeoutMs' | 'stopGraceMs'>;

/** Suggested location of the services file, relative to the working directory. */
export const DEFAULT_SERVICES_FILE = 'services.yaml';

const PATH_FIELDS = ['cwd', 'pidFile', 'logFile'] as const;


/** Resolves the relative path fields of each entry against `dir`, leaving other values for the schema to judge. */
function resolvePaths(raw: unknown, dir: string): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  return Object.fromEntries(
    Object.entries(raw).map(([name, entry]: [string, unknown]) => {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return [name, entry];
      const copy: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
      for (const field of PATH_FIELDS) {
        const value = copy[field];
        if (typeof value === 'string' && value !== '' && !path.isAbsolute(value)) copy[field] = path.resolve(dir, value);
      }
      return [name, copy];
    }),
  );
}

/**
 * Parses services-file text. Problems are thrown as one ConfigError with a
 * `file:line: field: message` line each.
 */
export function parseServicesFile(text: string, file: string): Record<string, RegisteredService> {
  const entries = parseYamlConfig(ServicesFile, text, file, 'services file', (raw) => resolvePaths(raw, path.dirname(path.resolve(file))));
  return Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, { name, ...entry }]));
}

/** Reads and checks a services file; a missing, unreadable or invalid file throws ConfigError. */
export async function loadServicesFile(file: string): Promise<Record<string, RegisteredService>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`services file ${file}: ${(err as Error).message}`);
  }
  return parseServicesFile(text, file);
}

/** As loadServicesFile, but a file that does not exist is an empty registry. */
export async function loadServicesFileIfPresent(file: string): Promise<Record<string, RegisteredService>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`services file ${file}: ${(err as Error).message}`);
  }
  return parseServicesFile(text, file);
}
