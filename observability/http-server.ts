import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dotSegmentRefusal } from './request-path';

/** A route handler; returning undefined falls through to 404. */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

/**
 * Headers on every response of every process's server: nothing here is a web
 * page, so a browser is told not to sniff, cache, frame, run or refer from it.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Sets {@link SECURITY_HEADERS} on a response; writeHead keeps them. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/**
 * Starts an HTTP server on loopback that tries each route in order. Every
 * response carries {@link SECURITY_HEADERS}. A path with dot segments is
 * refused (400) before any route sees it, since routes and authentication
 * would otherwise see the normalised path.
 */
export async function startHttpServer(port: number, routes: Route[], host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    setSecurityHeaders(res);
    const refusal = dotSegmentRefusal(req.url ?? '/');
    if (refusal !== undefined) {
      sendJson(res, 400, { error: refusal });
      return;
    }
    const url = new URL(req.url ?? '/', `http://${host}`);
    void (async () => {
      try {
        for (const route of routes) if (await route(req, res, url)) return;
        sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
        else res.end();
      }
    })();
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok());
  });
  return server;
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Reads a request body up to `limit` bytes; undefined when it is larger.
 * Past the limit the body keeps flowing (and is dropped) rather than the
 * request being destroyed, which would reset the connection before the
 * client reads the 413; answer that with `refuseUnread`
 * (observability/refuse-unread.ts), which bounds how much more is read.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd).off('error', onError);
      req.resume();
      resolve(undefined);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    const onError = (err: Error): void => reject(err);
    req.on('data', onData).once('end', onEnd).once('error', onError);
  });
}

/** Closes a server, resolving once all connections have ended. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise((ok) => {
    server.close(() => ok());
    server.closeAllConnections();
  });
}
