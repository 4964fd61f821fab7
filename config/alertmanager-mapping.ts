import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AlertmanagerMapping, DEFAULT_ALERTMANAGER_MAPPING } from '../schemas/alertmanager';
import { describeIssues, formatIssues } from '../schemas/parse-fault-event';
import { ConfigError } from './config';

/**
 * The Alertmanager label mapping: read from `file` (YAML, or JSON, which is
 * YAML too) when given, the built-in default otherwise. Fields left out keep
 * their defaults; a bad file stops start-up with a message naming the file
 * and each offending field.
 */
export function loadAlertmanagerMapping(file: string | undefined): AlertmanagerMapping {
  if (file === undefined) return DEFAULT_ALERTMANAGER_MAPPING;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new ConfigError(`Alertmanager mapping ${file}: ${(err as Error).message}`);
  }
  const parsed = AlertmanagerMapping.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`Alertmanager mapping ${file}: ${describeIssues(formatIssues(parsed.error))}`);
  return parsed.data;
}
