import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { BackupsFile } from '../schemas/backup-spec';
import { fieldName, lineOf } from '../schemas/yaml-positions';
import { ConfigError } from './config';

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
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
    throw new ConfigError(`invalid backups file:\n${messages.join('\n')}`);
  }
  const parsed = BackupsFile.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const messages = parsed.error.issues.flatMap((issue) => {
      const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...at, k]) : [at];
      const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
      return fields.map((f) => `${file}:${lineOf(doc, lines, f)}: ${fieldName(f)}: ${message}`);
    });
    throw new ConfigError(`invalid backups file:\n${messages.join('\n')}`);
  }
  return parsed.data;
}

/** Reads and checks a backups file; a file that does not exist watches nothing. */
export async function loadBackupsFileIfPresent(file: string): Promise<BackupsFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`backups file ${file}: ${(err as Error).message}`);
  }
  return parseBackupsFile(text, file);
}
