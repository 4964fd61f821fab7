import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { ConfigFileError, Identity, parseConfigText } from './roster';

/**
 * Bearer tokens of the approval API. Only sha256 hashes are stored, each
 * mapped to the identity the token authenticates; the token itself is shown
 * once, when it is created, and never written anywhere.
 */

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest');

/** One stored token. */
export const TokenEntry = z.strictObject({
  sha256: Sha256Hex,
  identity: Identity,
  created: z.string().optional(),
});
export type TokenEntry = z.infer<typeof TokenEntry>;

/** The tokens file. */
export const TokensFile = z.strictObject({ tokens: z.array(TokenEntry).default([]) });
export type TokensFile = z.infer<typeof TokensFile>;

/** Prefix that makes tokens recognisable in logs and secret scanners. */
export const TOKEN_PREFIX = 'rbk_';

/** sha256 hex digest of a token, as stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh random token (256 bits). */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** The identity a presented token authenticates, or undefined. Compares digests in constant time. */
export function identityForToken(file: TokensFile, token: string): string | undefined {
  const digest = Buffer.from(hashToken(token), 'hex');
  let found: string | undefined;
  for (const entry of file.tokens) {
    if (timingSafeEqual(digest, Buffer.from(entry.sha256, 'hex'))) found ??= entry.identity;
  }
  return found;
}

/** Reads the tokens file; a missing file holds no tokens. */
export async function loadTokensFile(file: string): Promise<TokensFile> {
  if (!existsSync(file)) return { tokens: [] };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`${file}: cannot read tokens (${(err as Error).message})`);
  }
  return parseConfigText(text, file, TokensFile);
}

/** Creates a token for `identity`, stores its hash (file mode 0600; JSON when the name ends in .json, else YAML) and returns the token. */
export async function createToken(file: string, identity: string, now: Date = new Date()): Promise<string> {
  const who = Identity.safeParse(identity);
  if (!who.success) throw new ConfigFileError(`identity: ${who.error.issues[0]?.message ?? 'invalid'}`);
  const current = await loadTokensFile(file);
  const token = generateToken();
  const next: TokensFile = { tokens: [...current.tokens, { sha256: hashToken(token), identity: who.data, created: now.toISOString() }] };
  await mkdir(dirname(file), { recursive: true });
  // A .json file stays JSON (YAML reads it either way), so its name does not lie to a reader.
  const text = file.endsWith('.json') ? `${JSON.stringify(next, null, 2)}\n` : stringify(next);
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return token;
}
