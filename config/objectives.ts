import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { ObjectivesFile } from '../schemas/service-objectives';
import { fieldName, lineOf } from '../schemas/yaml-positions';
import { ConfigError } from './config';

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
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
    throw new ConfigError(`invalid objectives file:\n${messages.join('\n')}`);
  }
  const parsed = ObjectivesFile.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const messages = parsed.error.issues.flatMap((issue) => {
      const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...at, k]) : [at];
      const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
      return fields.map((f) => `${file}:${lineOf(doc, lines, f)}: ${fieldName(f)}: ${message}`);
    });
    throw new ConfigError(`invalid objectives file:\n${messages.join('\n')}`);
  }
  return parsed.data;
}

/** Reads and checks an objectives file; a file that does not exist sets no objectives. */
export async function loadObjectivesFileIfPresent(file: string): Promise<ObjectivesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`objectives file ${file}: ${(err as Error).message}`);
  }
  return parseObjectivesFile(text, file);
}
