import { ObjectivesFile } from '../schemas/service-objectives';
import { parseYamlConfig, readOptionalConfigFile } from './yaml-config-file';

/**
 * The objectives file: per service (the `service` of fault events), what
 * `runbook report` and the worker's availability gauges grade against:
 *
 * ```yaml
 * model:
 *   availability: 99.9%
 *   mttr: 5m                  # p90 time to restore traffic, at most
 *   mtbf: 168h                # mean time between failures, at least
 *   healed_without_human: 0.8
 * ```
 */

/** Suggested location of the objectives file, relative to the working directory. */
export const DEFAULT_OBJECTIVES_FILE = 'objectives.yaml';

/** Parses objectives-file text; problems are thrown as one ConfigError with a `file:line: field: message` line each. */
export function parseObjectivesFile(text: string, file: string): ObjectivesFile {
  return parseYamlConfig(ObjectivesFile, text, file, 'objectives file');
}

/** Reads and checks an objectives file; a file that does not exist sets no objectives. */
export async function loadObjectivesFileIfPresent(file: string): Promise<ObjectivesFile> {
  const text = await readOptionalConfigFile(file, 'objectives file');
  return text === undefined ? {} : parseObjectivesFile(text, file);
}
