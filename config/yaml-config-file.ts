import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { fieldName, lineOf } from '../schemas/yaml-positions';
import { ConfigError } from './config';

/**
 * Parses the text of a YAML (or JSON) configuration file against `schema`,
 * after `prepare` (e.g. resolving relative paths). Every problem, of syntax
 * or of a field, becomes a `file:line: field: message` line of one
 * ConfigError headed `invalid <what>`, so the operator can fix them all at once.
 */
export function parseYamlConfig<S extends z.ZodType>(schema: S, text: string, file: string, what: string, prepare: (raw: unknown) => unknown = (raw) => raw): z.infer<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`);
    throw new ConfigError(`invalid ${what}:\n${messages.join('\n')}`);
  }
  const parsed = schema.safeParse(prepare(doc.toJS() ?? {}));
  if (!parsed.success) {
    const messages = parsed.error.issues.flatMap((issue) => {
      const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const fields = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...at, k]) : [at];
      const message = issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message;
      return fields.map((f) => `${file}:${lineOf(doc, lines, f)}: ${fieldName(f)}: ${message}`);
    });
    throw new ConfigError(`invalid ${what}:\n${messages.join('\n')}`);
  }
  return parsed.data;
}

/**
 * Reads an optional configuration file: undefined when it does not exist (the
 * feature it configures is simply off), a ConfigError naming `what` and the
 * file for any other read failure.
 */
export async function readOptionalConfigFile(file: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`${what} ${file}: ${(err as Error).message}`);
  }
}
