import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { SecretRef } from '../../schemas/secret-ref';
import { InvalidSpecError, SecretUnavailableError } from './errors';

/**
 * What `{ env }` references are read from. Passed in (normally the worker's
 * environment, captured once at start-up) so this module never reads globals.
 */
export interface SecretSource {
  env: Readonly<Record<string, string | undefined>>;
}

/** Text naming a reference without its value, for plans and error messages. */
export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `env:${ref.env}` : `file:${ref.file}`;
}

/** Resolves one reference; throws SecretUnavailableError when missing or empty. */
export async function resolveSecret(ref: SecretRef, source: SecretSource): Promise<string> {
  const parsed = SecretRef.safeParse(ref);
  if (!parsed.success) {
    throw new InvalidSpecError(`invalid secret reference: ${z.prettifyError(parsed.error)}`);
  }
  const value = await readValue(parsed.data, source);
  if (value === '') {
    throw new SecretUnavailableError(`secret ${describeSecretRef(parsed.data)} is empty`);
  }
  return value;
}

async function readValue(ref: SecretRef, source: SecretSource): Promise<string> {
  if ('env' in ref) {
    const value = source.env[ref.env];
    if (value === undefined) {
      throw new SecretUnavailableError(`secret ${describeSecretRef(ref)} is not set`);
    }
    return value;
  }
  try {
    const content = await readFile(ref.file, 'utf8');
    return content.replace(/\r?\n$/, '');
  } catch (cause) {
    throw new SecretUnavailableError(`secret ${describeSecretRef(ref)} cannot be read`, { cause });
  }
}

/** Resolves a map of references, keeping the keys (e.g. child environment names). */
export async function resolveSecrets(
  refs: Readonly<Record<string, SecretRef>>,
  source: SecretSource,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(refs).map(async ([key, ref]) => [key, await resolveSecret(ref, source)] as const),
  );
  return Object.fromEntries(entries);
}

/** Replacement written in place of a secret value found in output. */
export const REDACTED = '***';

/**
 * Replaces every occurrence of any secret value in `text` with `***`.
 * With `keepChars`, only the first `keepChars` characters of the original
 * text are kept, but a secret that starts before that point is still hidden
 * whole rather than cut into a revealing prefix.
 */
export function redactSecrets(text: string, values: readonly string[], keepChars = text.length): string {
  // Longer values first, so a secret that contains another is hidden whole.
  const secrets = [...new Set(values)].filter((v) => v !== '').sort((a, b) => b.length - a.length);
  if (secrets.length === 0) return text.slice(0, keepChars);
  let out = '';
  let plainFrom = 0;
  let i = 0;
  while (i < keepChars && i < text.length) {
    const found = secrets.find((secret) => text.startsWith(secret, i));
    if (found === undefined) {
      i += 1;
      continue;
    }
    out += text.slice(plainFrom, i) + REDACTED;
    i += found.length;
    plainFrom = i;
  }
  return out + text.slice(plainFrom, Math.max(plainFrom, Math.min(i, keepChars)));
}
