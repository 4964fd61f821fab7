import type { ClientHttp2Session, IncomingHttpHeaders } from 'node:http2';

/*
 * Unary gRPC calls over node:http2, for a short-lived command that makes two
 * or three of them: the request and answer are bytes the caller encodes and
 * decodes (platform/protobuf-wire.ts). Loading @grpc/grpc-js costs a bare
 * command most of a Node start-up; node:http2 is part of Node.
 */

/** TLS as node:http2 takes it; `true` is TLS with the system's trusted CAs. */
export type GrpcTls = { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string } | true;

/** Where a gRPC server listens and how to authenticate to it. */
export interface GrpcEndpoint {
  /** host:port */
  address: string;
  tls?: GrpcTls;
  /** Sent as `authorization: Bearer <key>` on every call; never logged. */
  apiKey?: string;
  /** Metadata sent with every call. */
  metadata?: Record<string, string>;
  /** Time allowed to connect; default {@link DEFAULT_GRPC_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Time allowed for each call's answer; default {@link DEFAULT_GRPC_CALL_TIMEOUT_MS}. */
  callTimeoutMs?: number;
}

/**
 * Time allowed for the connection (TCP, TLS and the HTTP/2 settings).
 * @default 3000
 */
export const DEFAULT_GRPC_CONNECT_TIMEOUT_MS = 3_000;

/**
 * Time allowed for one call's answer, told to the server as `grpc-timeout`
 * too, so a server that hangs cannot hold a command forever.
 * @default 10000
 */
export const DEFAULT_GRPC_CALL_TIMEOUT_MS = 10_000;

/** gRPC status codes this module names. */
export const GRPC_STATUS = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, UNAVAILABLE: 14 } as const;

/** A call the server answered with a non-OK status; `details` is its grpc-message, `statusDetails` its google.rpc.Status bytes when sent. */
export class GrpcStatusError extends Error {
  override name = 'GrpcStatusError';
  constructor(
    readonly code: number,
    readonly details: string,
    readonly statusDetails?: Buffer,
  ) {
    super(`${code} ${details}`);
  }
}

type CallStatus = { code: number; details: string; statusDetails?: Buffer };

/** One HTTP/2 connection to a gRPC server; `close` ends it. */
export interface GrpcChannel {
  /** Sends one request to `/<service>/<method>` and resolves with the answer's message bytes. */
  unary(path: string, request: Buffer): Promise<Buffer>;
  close(): void;
}

function statusOf(headers: IncomingHttpHeaders): CallStatus | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const message = headers['grpc-message'];
  let details = typeof message === 'string' ? message : '';
  try {
    details = decodeURIComponent(details);
  } catch {
    // Left as sent: a message that is not valid percent-encoding is still readable.
  }
  const bin = headers['grpc-status-details-bin'];
  return { code: Number(raw), details, ...(typeof bin === 'string' ? { statusDetails: Buffer.from(bin, 'base64') } : {}) };
}

/** The one message of a unary answer, from its length-prefixed frames. */
function messageOf(body: Buffer): Buffer {
  if (body.length < 5) throw new Error('gRPC answer holds no message');
  if (body[0] !== 0) throw new Error('gRPC answer is compressed; only identity is asked for');
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new Error('gRPC answer is truncated');
  return body.subarray(5, 5 + length);
}

function unaryOn(session: ClientHttp2Session, endpoint: GrpcEndpoint, path: string, request: Buffer): Promise<Buffer> {
  const timeoutMs = endpoint.callTimeoutMs ?? DEFAULT_GRPC_CALL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-accept-encoding': 'identity',
      'grpc-timeout': `${timeoutMs}m`,
      ...endpoint.metadata,
    };
    if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${endpoint.apiKey}`;
    const stream = session.request(headers);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close();
    }, timeoutMs);
    const chunks: Buffer[] = [];
    let status: CallStatus | undefined;
    let httpStatus = 0;
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      // A trailers-only answer (an error before any message) carries the status in its headers.
      status = statusOf(h) ?? status;
    });
    stream.on('trailers', (h) => {
      status = statusOf(h) ?? status;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('close', () => {
      clearTimeout(timer);
      if (timedOut) return reject(new Error(`no answer to ${path} from ${endpoint.address} within ${timeoutMs} ms`));
      if (status === undefined) return reject(new Error(httpStatus ? `HTTP ${httpStatus} without a gRPC status` : 'the gRPC stream closed without an answer'));
      if (status.code !== GRPC_STATUS.OK) return reject(new GrpcStatusError(status.code, status.details, status.statusDetails));
      try {
        resolve(messageOf(Buffer.concat(chunks)));
      } catch (err) {
        reject(err as Error);
      }
    });
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(request.length, 1);
    stream.end(Buffer.concat([frame, request]));
  });
}

/** Connects to a gRPC server; rejects when the connection is not up within the connect timeout. */
export function grpcChannel(endpoint: GrpcEndpoint): Promise<GrpcChannel> {
  // Required, not imported: only a command that makes a call loads it.
  const http2 = require('node:http2') as typeof import('node:http2');
  const tls = endpoint.tls;
  const authority = `${tls ? 'https' : 'http'}://${endpoint.address}`;
  const session = http2.connect(authority, tls === undefined || tls === true ? {} : tls);
  const timeoutMs = endpoint.connectTimeoutMs ?? DEFAULT_GRPC_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`no connection to ${endpoint.address} within ${timeoutMs} ms`));
    }, timeoutMs);
    const failed = (err: Error): void => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    };
    session.once('error', failed);
    session.once('connect', () => {
      clearTimeout(timer);
      session.off('error', failed);
      // A session error after connect fails the calls in flight through their streams.
      session.on('error', () => undefined);
      resolve({
        unary: (path, request) => unaryOn(session, endpoint, path, request),
        close: () => session.close(),
      });
    });
  });
}
