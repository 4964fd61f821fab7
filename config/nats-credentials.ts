import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ENV, type Config } from './config';
import { NATS_ROLES, type NatsRole, type NatsUserEntry } from './nats-permissions';

/*
 * NATS passwords: one random password per role, generated once into a 0600
 * file and reused on every start. The server config gets only bcrypt hashes.
 * Passwords are never logged nor put into error messages; messages name files
 * and variables only.
 */

/**
 * bcrypt cost of the hashes the server checks on every connect. A work
 * factor slows the guessing of passwords people chose; these are 192 random
 * bits, which no number of guesses finds, so the hash only has to be one-way.
 * Cost 10 made every connect (a CLI command, a reconnecting worker) wait
 * about 65 ms for the server's check; cost 6 takes a sixteenth of that.
 * @default 6
 */
export const DEFAULT_BCRYPT_COST = 6;

/** The cost a bcrypt hash was made with (`$2a$06$…` → 6). */
export function bcryptCost(hash: string): number {
  return Number(/^\$2[aby]?\$(\d{2})\$/.exec(hash)?.[1] ?? Number.NaN);
}

/** Directory of a state directory's NATS passwords: `<stateDir>/nats/credentials`. */
export function credentialsDir(stateDir: string): string {
  return join(stateDir, 'nats', 'credentials');
}

/** File holding one role's password inside a credentials directory. */
export function passwordFile(dir: string, role: NatsRole): string {
  return join(dir, `${role}.password`);
}

/** A NATS credential that cannot be found or used; names the variable or file, never a secret. */
export class NatsCredentialError extends Error {
  override name = 'NatsCredentialError';
}

/** Where a process's NATS credential comes from, resolved by {@link resolveNatsCredential}. */
export type NatsCredential =
  | { kind: 'creds'; file: string }
  | { kind: 'password'; user: string; passwordFile: string; source: string };

/**
 * The credential a process connects with, in this order: `RUNBOOK_NATS_CREDS`
 * (a .creds file), `RUNBOOK_NATS_USER` + `RUNBOOK_NATS_PASSWORD_FILE`, then
 * the role's password file in the state directory.
 */
export function resolveNatsCredential(config: Pick<Config, 'natsCreds' | 'natsUser' | 'natsPasswordFile' | 'stateDir'>, role: NatsRole): NatsCredential {
  if (config.natsCreds) return { kind: 'creds', file: config.natsCreds };
  if (config.natsUser || config.natsPasswordFile) {
    if (!config.natsUser) throw new NatsCredentialError(`${ENV.natsPasswordFile} is set but ${ENV.natsUser} is not; set both`);
    if (!config.natsPasswordFile) throw new NatsCredentialError(`${ENV.natsUser} is set but ${ENV.natsPasswordFile} is not; set both`);
    return { kind: 'password', user: config.natsUser, passwordFile: config.natsPasswordFile, source: ENV.natsPasswordFile };
  }
  const file = passwordFile(credentialsDir(config.stateDir), role);
  return { kind: 'password', user: role, passwordFile: file, source: `the ${role} password file` };
}

/** Reads a credential file's content (trimmed); the error names the file and where it was configured. */
export function readSecretFile(file: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new NatsCredentialError(
      `cannot read NATS credential ${file} (${code}) from ${source}; start the stack (runbook up) to generate it, or set ${ENV.natsCreds} or ${ENV.natsUser} and ${ENV.natsPasswordFile}`,
    );
  }
  if (text === '') throw new NatsCredentialError(`NATS credential ${file} (from ${source}) is empty`);
  return text;
}

/** bcrypt in the `$2a$` form every nats-server version accepts (identical to `$2b$` for short passwords). */
export function natsBcrypt(password: string, cost = DEFAULT_BCRYPT_COST): string {
  return bcrypt.hashSync(password, cost).replace(/^\$2b\$/, '$2a$');
}

interface HashCache {
  [role: string]: { sha256: string; bcrypt: string } | undefined;
}

/**
 * Makes sure every role has a password file in `dir` (random, 0600, created
 * only when missing) and returns each role's bcrypt hash for the server
 * config. Hashes are cached beside the passwords, keyed by a digest of the
 * password and made with `cost`, so a restart does not pay for bcrypt again
 * and a replaced password file, or another cost, gets a fresh hash. Delete a
 * role's file to rotate it.
 */
export function ensureNatsCredentials(dir: string, cost = DEFAULT_BCRYPT_COST): NatsUserEntry[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const cacheFile = join(dir, 'hashes.json');
  let cache: HashCache = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as HashCache;
  } catch {
    cache = {};
  }
  let changed = false;
  const entries = NATS_ROLES.map((role): NatsUserEntry => {
    const file = passwordFile(dir, role);
    try {
      // 'wx' never overwrites: two starts agree on one password.
      writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    chmodSync(file, 0o600);
    const password = readSecretFile(file, `the ${role} password file`);
    const digest = createHash('sha256').update(password).digest('hex');
    const cached = cache[role];
    // A hash of another cost (an earlier default) is made again, so a stack started before takes the new cost.
    if (cached?.sha256 === digest && bcryptCost(cached.bcrypt) === cost) return { role, bcryptHash: cached.bcrypt };
    const hash = natsBcrypt(password, cost);
    cache[role] = { sha256: digest, bcrypt: hash };
    changed = true;
    return { role, bcryptHash: hash };
  });
  if (changed || !existsSync(cacheFile)) writeFileSync(cacheFile, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
  return entries;
}
