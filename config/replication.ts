import { ReplicationFile } from '../schemas/replication-spec';
import { parseYamlConfig, readOptionalConfigFile } from './yaml-config-file';

/**
 * The replication file: which directories the worker keeps copied to a
 * replica (see `schemas/replication-spec.ts`):
 *
 * ```yaml
 * app-data:
 *   source: /var/lib/app/primary
 *   replica: /var/lib/app/standby
 *   service: app
 *   target: standby
 *   interval: 5s
 *   max_lag: 1m
 *   fence:
 *     haproxy: { socket: /run/haproxy/admin.sock, backend: app, server: primary }
 * ```
 */

/** Suggested location of the replication file, relative to the working directory. */
export const DEFAULT_REPLICATION_FILE = 'replication.yaml';

/** Parses replication-file text; problems are thrown as one ConfigError with a `file:line: field: message` line each. */
export function parseReplicationFile(text: string, file: string): ReplicationFile {
  return parseYamlConfig(ReplicationFile, text, file, 'replication file');
}

/** Reads and checks a replication file; a file that does not exist replicates nothing. */
export async function loadReplicationFileIfPresent(file: string): Promise<ReplicationFile> {
  const text = await readOptionalConfigFile(file, 'replication file');
  return text === undefined ? {} : parseReplicationFile(text, file);
}
