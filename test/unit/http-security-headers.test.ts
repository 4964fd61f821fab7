import assert from 'node:assert/strict';
import { request, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { closeHttpServer, SECURITY_HEADERS, sendJson, startHttpServer } from '../../observability/http-server';
import { metricsRoute } from '../../observability/metrics';
import { freePorts } from '../../stack/ports';

let server: Server;
let port = 0;

before(async () => {
  [port = 0] = await freePorts(1);
  server = await startHttpServer(port, [
    (_req, res, url) => {
      if (url.pathname !== '/ok') return false;
      sendJson(res, 200, { ok: true });
      return true;
    },
    (_req, _res, url) => {
      if (url.pathname === '/boom') throw new Error('boom');
      return false;
    },
    (_req, res, url) => {
      if (url.pathname !== '/plain') return false;
      res.writeHead(204);
      res.end();
      return true;
    },
    metricsRoute(new Registry()),
  ]);
});

after(async () => {
  if (server) await closeHttpServer(server);
});

/** Sends the path as written, so a dot segment reaches the server. */
function headersOf(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const [path, status] of [['/ok', 200], ['/plain', 204], ['/metrics', 200], ['/nowhere', 404], ['/boom', 500], ['/a/../ok', 400]] as const) {
  test(`a ${status} answer (${path}) carries every security header`, async () => {
    const res = await headersOf(path);
    assert.equal(res.status, status);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers[name], value, name);
  });
}

test('the headers are the ones that keep a browser from sniffing, caching, framing or referring', () => {
  assert.deepEqual(SECURITY_HEADERS, {
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none';frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  });
});
