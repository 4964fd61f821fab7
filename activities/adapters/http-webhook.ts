import http from 'node:http';
import https from 'node:https';
import {
  InvalidSpecError,
  TimeoutError,
  WebhookRejectedError,
  WebhookUnavailableError,
} from './errors';
import { isSettableHeader, isSingleLine, webhookUrlProblem } from '../../schemas/adapter-inputs';
import type { SecretRef } from '../../schemas/secret-ref';
import { redactSecrets, resolveSecrets, type SecretSource } from './secrets';

/** How much of a response body is kept for results and error messages. @default 16384 */
export const WEBHOOK_RESPONSE_LIMIT_BYTES = 16 * 1024;

/** 4xx answers that mean "not now" rather than "never". */
const RETRYABLE_4XX = new Set([408, 429]);

/** A JSON POST to a receiver that de-duplicates on the Idempotency-Key header. */
export interface PostWebhookInput {
  url: string;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
  /** Header name → secret holding its value (e.g. Authorization). Values never appear in results or errors. */
  secretHeaders?: Readonly<Record<string, SecretRef>>;
  timeoutMs: number;
  idempotencyKey: string;
  dryRun: boolean;
}

/** Dependencies that come from the worker's configuration. */
export interface WebhookDeps {
  secretSource?: SecretSource;
}

/** Outcome of postWebhook. `responseBody` is truncated and redacted. */
export type PostWebhookResult =
  | { dryRun: false; status: number; latencyMs: number; responseBody: string }
  | { dryRun: true; plan: string };

function validate(input: PostWebhookInput): { url: URL; payload: string } {
  const urlProblem = webhookUrlProblem(input.url);
  if (urlProblem !== undefined) throw new InvalidSpecError(`webhook url ${urlProblem}`);
  const url = new URL(input.url);
  if (!/^[\x21-\x7e]{1,255}$/.test(input.idempotencyKey)) {
    throw new InvalidSpecError('idempotencyKey must be 1-255 printable ASCII characters');
  }
  if (!Number.isInteger(input.timeoutMs) || input.timeoutMs <= 0) throw new InvalidSpecError('timeoutMs must be a positive integer');
  const names = [...Object.keys(input.headers ?? {}), ...Object.keys(input.secretHeaders ?? {})];
  for (const name of names) {
    if (!isSettableHeader(name)) {
      throw new InvalidSpecError(`header ${JSON.stringify(name)} is invalid or reserved`);
    }
  }
  for (const value of Object.values(input.headers ?? {})) {
    if (!isSingleLine(value)) throw new InvalidSpecError('header values must be a single line');
  }
  const payload = JSON.stringify(input.body);
  if (payload === undefined) throw new InvalidSpecError('webhook body is not JSON-serialisable');
  return { url, payload };
}

/**
 * POSTs `body` as JSON with an Idempotency-Key header. 2xx resolves; 4xx
 * (other than 408/429) and redirects throw non-retryable WebhookRejectedError;
 * 5xx, 408, 429 and connection errors throw retryable WebhookUnavailableError;
 * the deadline throws TimeoutError. Dry-run resolves secrets but sends nothing.
 */
export async function postWebhook(input: PostWebhookInput, deps: WebhookDeps = {}): Promise<PostWebhookResult> {
  const { url, payload } = validate(input);
  const secretValues = await resolveSecrets(input.secretHeaders ?? {}, deps.secretSource ?? { env: {} });
  const secrets = Object.values(secretValues);
  if (secrets.some((v) => !isSingleLine(v))) throw new InvalidSpecError('secret header values must be a single line');
  const target = `${url.origin}${url.pathname}`;

  if (input.dryRun) {
    const headerNames = [
      ...Object.keys(input.headers ?? {}),
      ...Object.keys(input.secretHeaders ?? {}).map((n) => `${n} (secret)`),
    ];
    const extra = headerNames.length === 0 ? '' : ` and headers ${headerNames.join(', ')}`;
    return {
      dryRun: true,
      plan: `would POST ${Buffer.byteLength(payload)} bytes of JSON to ${target} with Idempotency-Key ${input.idempotencyKey}${extra}`,
    };
  }

  const headers: Record<string, string> = {
    ...input.headers,
    ...secretValues,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    'idempotency-key': input.idempotencyKey,
  };
  const client = url.protocol === 'https:' ? https : http;
  const started = performance.now();

  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = client.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < WEBHOOK_RESPONSE_LIMIT_BYTES) chunks.push(chunk.subarray(0, WEBHOOK_RESPONSE_LIMIT_BYTES - size));
        size += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: redactSecrets(Buffer.concat(chunks).toString('utf8'), secrets) });
      });
      res.on('error', (cause) => {
        clearTimeout(timer);
        reject(new WebhookUnavailableError(`webhook ${target}: response broken: ${cause.message}`, res.statusCode ?? null, { cause }));
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new TimeoutError(`webhook ${target} did not answer within ${input.timeoutMs} ms`));
    }, input.timeoutMs);
    req.on('error', (cause) => {
      clearTimeout(timer);
      reject(new WebhookUnavailableError(`webhook ${target}: ${redactSecrets(cause.message, secrets)}`, null, { cause }));
    });
    req.end(payload);
  });
  const latencyMs = Math.round(performance.now() - started);
  const snippet = body.length > 200 ? `${body.slice(0, 200)}...` : body;

  if (status >= 200 && status < 300) return { dryRun: false, status, latencyMs, responseBody: body };
  if (status >= 500 || RETRYABLE_4XX.has(status)) {
    throw new WebhookUnavailableError(`webhook ${target} answered ${status}: ${snippet}`, status);
  }
  throw new WebhookRejectedError(`webhook ${target} answered ${status}: ${snippet}`, status);
}
