import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from './config';

/*
 * The decision key: the secret the approval API signs decisions with and the
 * worker verifies them with (engine/decision-signature.ts). It is read from a
 * file at process start and never logged, passed on the command line, or put
 * into workflow history.
 */

/** Bytes of a generated key (HMAC-SHA256's block-size-safe length). */
export const DECISION_KEY_BYTES = 32;

/** Where the decision key lives: `decisionKeyFile`, else `<stateDir>/decision.key`. */
export function decisionKeyPath(config: Pick<Config, 'decisionKeyFile' | 'stateDir'>): string {
  return config.decisionKeyFile ?? join(config.stateDir, 'decision.key');
}

/**
 * Creates a random key at `path` (mode 0600) unless one is already there, so
 * the key survives stack restarts and decisions in flight stay valid.
 */
export function ensureDecisionKey(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    // 'wx' fails when the file exists: an existing key is never overwritten.
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  try {
    writeSync(fd, `${randomBytes(DECISION_KEY_BYTES).toString('hex')}\n`);
  } finally {
    closeSync(fd);
  }
  chmodSync(path, 0o600);
}

/** A decision key that cannot be used; the message names the file, never its content. */
export class DecisionKeyError extends Error {
  override name = 'DecisionKeyError';
}

/**
 * Reads the decision key: hex (at least 32 bytes' worth). Refuses a file other
 * users can read, because whoever holds the key can vouch for any decision.
 */
export function readDecisionKey(path: string): Buffer {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new DecisionKeyError(`decision key ${path} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`);
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if (err instanceof DecisionKeyError) throw err;
    throw new DecisionKeyError(`cannot read the decision key ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set RUNBOOK_DECISION_KEY_FILE or start the local stack, which creates one`);
  }
  if (!/^[0-9a-f]+$/i.test(text) || text.length % 2 !== 0 || text.length < DECISION_KEY_BYTES * 2) {
    throw new DecisionKeyError(`decision key ${path} must be at least ${DECISION_KEY_BYTES} bytes as hex (e.g. openssl rand -hex ${DECISION_KEY_BYTES})`);
  }
  return Buffer.from(text, 'hex');
}
