import type { Agent as HttpAgent, IncomingMessage } from 'node:http';

/*
 * A client of Temporal's HTTP API (the frontend's grpc-gateway, `--http-port`
 * of the dev server, `rpc.httpPort` of a server's frontend) for the few
 * reads a short-lived command makes. It needs node:http(s) only: loading
 * @temporalio/client with its protobuf definitions and gRPC costs a bare
 * command several Node start-ups before it sends anything. A route that
 * names one workflow cannot take an id holding `/` on the gateways of
 * Temporal 1.29.1 and 1.32.2 (they decode %2F before matching), so callers
 * use it for namespace-wide calls: visibility lists, search attributes.
 */

/** TLS as node:https takes it; `true` is TLS with the system's trusted CAs. */
export type TemporalHttpTls = { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | true;

/** Where the HTTP API listens and how to authenticate to it: the same certificates and API key as the gRPC frontend. */
export interface TemporalHttpEndpoint {
  /** host:port of the HTTP API. */
  address: string;
  namespace: string;
  tls?: TemporalHttpTls;
  /** Sent as `authorization: Bearer <key>`; never logged. */
  apiKey?: string;
  /** Per request; default {@link DEFAULT_TEMPORAL_HTTP_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Time allowed for one request, connection included.
 * @default 3000
 */
export const DEFAULT_TEMPORAL_HTTP_TIMEOUT_MS = 3_000;

/** One request, as built before it is sent (unit-tested without a server). */
export interface TemporalHttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

/** A request Temporal answered with an error status; `code` is the gRPC status code of its body. */
export class TemporalHttpError extends Error {
  override name = 'TemporalHttpError';
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Builds a request to `/api/v1/namespaces/<namespace>/<path...>`. Each path
 * segment is percent-encoded whole (a workflow id may hold `/`), and
 * `noPayloadShorthand` asks for payloads in their full form, so each keeps
 * its encoding and is decoded as the SDK would.
 */
export function temporalHttpRequest(
  endpoint: TemporalHttpEndpoint,
  method: TemporalHttpRequest['method'],
  path: readonly string[],
  query: Readonly<Record<string, string | number | undefined>> = {},
  body?: unknown,
): TemporalHttpRequest {
  const segments = ['api', 'v1', 'namespaces', endpoint.namespace, ...path].map(encodeURIComponent).join('/');
  const url = new URL(`${endpoint.tls ? 'https' : 'http'}://${endpoint.address}/${segments}`);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
  url.searchParams.set('noPayloadShorthand', '');
  const headers: Record<string, string> = { accept: 'application/json' };
  if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`;
  if (body === undefined) return { method, url, headers };
  headers['content-type'] = 'application/json';
  return { method, url, headers, body: JSON.stringify(body) };
}

function errorOf(status: number, text: string): TemporalHttpError {
  let parsed: { code?: unknown; message?: unknown } | undefined;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const message = typeof parsed?.message === 'string' ? parsed.message : `HTTP ${status} ${text.slice(0, 200)}`;
  return new TemporalHttpError(message, status, typeof parsed?.code === 'number' ? parsed.code : undefined);
}

/** A connection to one HTTP API; `close` ends its kept-alive sockets. */
export interface TemporalHttpClient {
  readonly endpoint: TemporalHttpEndpoint;
  /** Sends a request and resolves with its JSON body; rejects with TemporalHttpError on an error status. */
  call(method: TemporalHttpRequest['method'], path: readonly string[], query?: Readonly<Record<string, string | number | undefined>>, body?: unknown): Promise<unknown>;
  close(): void;
}

/** A client that keeps one connection alive across its calls (a command makes two or three). */
export function temporalHttpClient(endpoint: TemporalHttpEndpoint): TemporalHttpClient {
  // Required, not imported: only the module for the scheme in use is loaded.
  let agent: HttpAgent;
  let request: typeof import('node:http').request;
  if (endpoint.tls) {
    const https = require('node:https') as typeof import('node:https');
    agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...(endpoint.tls === true ? {} : endpoint.tls) });
    request = https.request;
  } else {
    const http = require('node:http') as typeof import('node:http');
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    request = http.request;
  }
  const timeout = endpoint.timeoutMs ?? DEFAULT_TEMPORAL_HTTP_TIMEOUT_MS;
  return {
    endpoint,
    call(method, path, query, body) {
      const req = temporalHttpRequest(endpoint, method, path, query, body);
      return new Promise((resolve, reject) => {
        const onResponse = (res: IncomingMessage): void => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) return reject(errorOf(res.statusCode ?? 0, text));
            try {
              resolve(JSON.parse(text) as unknown);
            } catch (err) {
              reject(new Error(`unreadable answer from Temporal's HTTP API (${(err as Error).message})`));
            }
          });
        };
        const r = request(req.url, { method: req.method, headers: req.headers, agent, timeout }, onResponse);
        r.on('timeout', () => r.destroy(new Error(`no answer from ${endpoint.address} within ${timeout} ms`)));
        r.on('error', reject);
        r.end(req.body);
      });
    },
    close() {
      agent.destroy();
    },
  };
}

/** A payload in the HTTP API's full form: metadata values and data in base64. */
export interface HttpPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** A payload whose encoding this reader does not decode (a codec's, protobuf). */
export class PayloadEncodingError extends Error {
  override name = 'PayloadEncodingError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of one payload, as the SDK's default converter reads it:
 * `json/plain` is JSON, `binary/null` is undefined; anything else (an
 * encrypted or protobuf payload) is a PayloadEncodingError.
 */
export function decodePayload(payload: unknown): unknown {
  if (!isRecord(payload)) throw new PayloadEncodingError('payload is not an object');
  const metadata = isRecord(payload.metadata) ? payload.metadata : {};
  const encoding = typeof metadata.encoding === 'string' ? Buffer.from(metadata.encoding, 'base64').toString('utf8') : undefined;
  if (encoding === 'binary/null') return undefined;
  if (encoding !== 'json/plain') throw new PayloadEncodingError(`payload encoding ${JSON.stringify(encoding ?? null)} is not json/plain`);
  const data = typeof payload.data === 'string' ? Buffer.from(payload.data, 'base64').toString('utf8') : '';
  return JSON.parse(data) as unknown;
}

/** A value as a `json/plain` payload in the full form (tests, request bodies). */
export function encodeJsonPayload(value: unknown): HttpPayload {
  return { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify(value), 'utf8').toString('base64') };
}

/**
 * An enum value as the SDK names it: `WORKFLOW_EXECUTION_STATUS_RUNNING`
 * (protobuf JSON) or `Running` (a shortened form) both become `RUNNING`.
 */
export function enumName(value: unknown, prefix: string): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.startsWith(prefix)) return value.slice(prefix.length);
  if (/^[A-Z0-9_]+$/.test(value)) return value;
  return value.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
