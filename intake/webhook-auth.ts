import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ENV } from '../config/config';

/*
 * Who may post to the Alertmanager receiver: whoever presents the bearer
 * token or the basic-auth user and password configured for it, the two
 * schemes Alertmanager's `http_config` offers. Secrets are read from files
 * (never from the environment or flags, which show up in process listings),
 * kept only as sha256 digests, and compared digest to digest with
 * timingSafeEqual, so the comparison takes the same time whatever was sent.
 */

/** Where the receiver's credential comes from (the `intakeWebhook*` configuration). */
export interface WebhookAuthSource {
  auth: 'required' | 'none';
  tokenFile?: string | undefined;
  basicUser?: string | undefined;
  basicPasswordFile?: string | undefined;
}

/** The loaded credential: digests only. */
export type WebhookCredentials =
  | { mode: 'none' }
  | { mode: 'required'; bearer?: Buffer; basic?: Buffer };

/** Why a request was not let in. */
export type WebhookAuthRefusal = 'not_configured' | 'missing' | 'malformed' | 'wrong';

/** The verdict on one request's Authorization header. */
export type WebhookAuthResult = { ok: true; scheme: 'bearer' | 'basic' | 'none' } | { ok: false; reason: WebhookAuthRefusal };

/** A credential setting that cannot be used; names the variable. */
export class WebhookAuthConfigError extends Error {
  override name = 'WebhookAuthConfigError';
}

/** What a receiver with no credential answers, saying how to configure one. */
export const NOT_CONFIGURED_MESSAGE =
  `the Alertmanager receiver has no credential configured, so it refuses every request: set ${ENV.intakeWebhookTokenFile} ` +
  `(a file holding the bearer token) or ${ENV.intakeWebhookBasicUser} and ${ENV.intakeWebhookBasicPasswordFile}, ` +
  `or ${ENV.intakeWebhookAuth}=none to accept unauthenticated requests (unsafe)`;

const REALM = 'runbook-intake';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

async function readSecret(file: string, variable: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WebhookAuthConfigError(`${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // Alertmanager trims the file it reads the same way, so a trailing newline is not part of the secret.
  const secret = text.trim();
  if (secret === '') throw new WebhookAuthConfigError(`${variable}: ${file} is empty`);
  return secret;
}

/**
 * Reads the configured credential files. With `auth: 'required'` and nothing
 * configured it returns a credential that refuses every request (the intake
 * still starts, so its health and metrics stay visible).
 */
export async function loadWebhookCredentials(source: WebhookAuthSource): Promise<WebhookCredentials> {
  if (source.auth === 'none') return { mode: 'none' };
  if ((source.basicUser === undefined) !== (source.basicPasswordFile === undefined)) {
    throw new WebhookAuthConfigError(`${ENV.intakeWebhookBasicUser} and ${ENV.intakeWebhookBasicPasswordFile} must be set together`);
  }
  const creds: { mode: 'required'; bearer?: Buffer; basic?: Buffer } = { mode: 'required' };
  if (source.tokenFile !== undefined) creds.bearer = digest(await readSecret(source.tokenFile, ENV.intakeWebhookTokenFile));
  if (source.basicUser !== undefined && source.basicPasswordFile !== undefined) {
    const password = await readSecret(source.basicPasswordFile, ENV.intakeWebhookBasicPasswordFile);
    creds.basic = digest(`${source.basicUser}:${password}`);
  }
  return creds;
}

/** Whether any credential is configured (a `required` receiver without one refuses everything). */
export function hasCredential(creds: WebhookCredentials): boolean {
  return creds.mode === 'none' || creds.bearer !== undefined || creds.basic !== undefined;
}

function matches(presented: string, expected: Buffer | undefined): boolean {
  // Always hash and compare, even with nothing configured for this scheme, so both paths cost the same.
  const equal = timingSafeEqual(digest(presented), expected ?? Buffer.alloc(32));
  return equal && expected !== undefined;
}

/** Checks an Authorization header against the credential. */
export function checkWebhookAuth(header: string | undefined, creds: WebhookCredentials): WebhookAuthResult {
  if (creds.mode === 'none') return { ok: true, scheme: 'none' };
  if (!hasCredential(creds)) return { ok: false, reason: 'not_configured' };
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing' };
  const m = /^(\S+) +(\S+)\s*$/.exec(header);
  if (!m?.[1] || !m[2]) return { ok: false, reason: 'malformed' };
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return matches(m[2], creds.bearer) ? { ok: true, scheme: 'bearer' } : { ok: false, reason: 'wrong' };
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(m[2])) return { ok: false, reason: 'malformed' };
    const decoded = Buffer.from(m[2], 'base64').toString('utf8');
    if (!decoded.includes(':')) return { ok: false, reason: 'malformed' };
    return matches(decoded, creds.basic) ? { ok: true, scheme: 'basic' } : { ok: false, reason: 'wrong' };
  }
  return { ok: false, reason: 'malformed' };
}

/** The `WWW-Authenticate` value of a 401: the schemes this receiver takes. */
export function webhookChallenge(creds: WebhookCredentials): string {
  const schemes: string[] = [];
  if (creds.mode === 'required' && creds.basic !== undefined) schemes.push(`Basic realm="${REALM}", charset="UTF-8"`);
  if (creds.mode !== 'required' || creds.basic === undefined || creds.bearer !== undefined) schemes.push(`Bearer realm="${REALM}"`);
  return schemes.join(', ');
}

/** The receiver's current credential, reloadable (SIGHUP) without a restart. */
export interface WebhookAuthenticator {
  check(header: string | undefined): WebhookAuthResult | { ok: false; reason: 'unavailable'; error: string };
  challenge(): string;
  /** Whether a credential (or the `none` opt-out) is in force. */
  configured(): boolean;
  /** Reads the files again. On failure every request is refused until a reload succeeds: a rotation must not leave the old secret working. */
  reload(): Promise<void>;
}

/** Loads the credential now (throwing a WebhookAuthConfigError when a configured file is unusable) and keeps it for {@link WebhookAuthenticator.reload}. */
export async function webhookAuthenticator(source: WebhookAuthSource): Promise<WebhookAuthenticator> {
  let state: { creds: WebhookCredentials } | { error: string } = { creds: await loadWebhookCredentials(source) };
  return {
    check(header) {
      if ('error' in state) return { ok: false, reason: 'unavailable', error: state.error };
      return checkWebhookAuth(header, state.creds);
    },
    configured() {
      return 'creds' in state && hasCredential(state.creds);
    },
    challenge() {
      return webhookChallenge('creds' in state ? state.creds : { mode: 'required' });
    },
    async reload() {
      try {
        state = { creds: await loadWebhookCredentials(source) };
      } catch (err) {
        state = { error: (err as Error).message };
        throw err;
      }
    },
  };
}
