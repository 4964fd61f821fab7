import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';

/** Name of the generated Alertmanager receiver token in the state directory. */
export const WEBHOOK_TOKEN_FILE = 'intake-webhook.token';

/**
 * The local stack's bearer token for the Alertmanager receiver: generated
 * once (256 random bits, mode 0600) and reused on every later start, so an
 * Alertmanager pointed at the file keeps working across restarts. Returns
 * the file's path. Delete the file to rotate: the next start makes a new one.
 */
export function ensureWebhookToken(stateDir: string): string {
  const file = join(stateDir, WEBHOOK_TOKEN_FILE);
  try {
    // 'wx' fails when the file exists, so two starts never overwrite each other's token.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (readFileSync(file, 'utf8').trim() === '') throw new Error(`${file} is empty; delete it and start again to generate a new token`);
    chmodSync(file, 0o600);
  }
  return file;
}

/**
 * The configuration with the generated token file filled in, when the
 * receiver requires a credential and none is configured; otherwise unchanged
 * (an operator's own token, basic auth or `none` are left alone).
 */
export function withWebhookCredential(config: Config, stateDir: string): Config {
  if (config.intakeWebhookAuth === 'none' || config.intakeWebhookTokenFile || config.intakeWebhookBasicUser) return config;
  return { ...config, intakeWebhookTokenFile: ensureWebhookToken(stateDir) };
}
