import { BackupsFile } from '../schemas/backup-spec';
import { parseYamlConfig, readOptionalConfigFile } from './yaml-config-file';

/**
 * The backups file: which backup repositories the worker watches for
 * freshness (see `schemas/backup-spec.ts`), and `runbook backups` lists:
 *
 * ```yaml
 * app-data:
 *   repository: /var/backups/app
 *   service: app
 *   target: primary
 *   max_age: 2h
 * ```
 */

/** Suggested location of the backups file, relative to the working directory. */
export const DEFAULT_BACKUPS_FILE = 'backups.yaml';

/** Parses backups-file text; problems are thrown as one ConfigError with a `file:line: field: message` line each. */
export function parseBackupsFile(text: string, file: string): BackupsFile {
  return parseYamlConfig(BackupsFile, text, file, 'backups file');
}

/** Reads and checks a backups file; a file that does not exist watches nothing. */
export async function loadBackupsFileIfPresent(file: string): Promise<BackupsFile> {
  const text = await readOptionalConfigFile(file, 'backups file');
  return text === undefined ? {} : parseBackupsFile(text, file);
}
