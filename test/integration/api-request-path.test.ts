import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { Registry } from 'prom-client';
import type { Authenticator } from '../../api/auth';
import { startApiServer } from '../../api/server';
import { closeHttpServer } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { freePorts } from '../../stack/ports';

/*
 * The approval API process on a free port. No Temporal: every request here
 * is answered before one would be needed (refused, unauthenticated, or open).
 */

const TOKEN = 'test-token';
let server: Server;
let port = 0;
const identified: string[] = [];

const auth: Authenticator = {
  identifyToken(token) {
    identified.push(token);
    return Promise.resolve(token === TOKEN ? 'alice' : undefined);
  },
};

before(async () => {
  [port = 0] = await freePorts(1);
  const client = { workflow: {} } as unknown as Client;
  server = await startApiServer({ client, decisionKey: randomBytes(32), auth, logger: createLogger('test-api', 'warn'), port, registry: new Registry() });
});

after(async () => {
  if (server) await closeHttpServer(server);
});

/** Sends `path` exactly as written (fetch would resolve the dot segments itself). */
function send(path: string, opts: { method?: string; token?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('approval API paths with dot segments', () => {
  const variants = [
    '/incidents/x/../y',
    '/incidents/web/web-2/../../other/node/decisions',
    '/incidents/x/%2e%2e/y',
    '/incidents/x/%2E./y',
    '/incidents/x\\..\\y',
    '/incidents/../healthz',
    '/healthz/../incidents',
    '/metrics/..',
  ];
  for (const path of variants) {
    test(`${path} gets 400 naming the path, with or without a token, before authentication`, async () => {
      const before = identified.length;
      for (const token of [undefined, TOKEN]) {
        const res = await send(path, { method: 'POST', ...(token ? { token } : {}) });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(String(res.body['error']), /has a "\." or "\.\." segment/);
        assert.ok(String(res.body['error']).includes(JSON.stringify(path)), String(res.body['error']));
      }
      assert.equal(identified.length, before, 'no token was looked at');
    });
  }

  test('ordinary paths still route: health is open, incidents need a token', async () => {
    assert.equal((await send('/healthz')).status, 200);
    const refused = await send('/incidents/web/web-2');
    assert.equal(refused.status, 401);
    assert.equal(refused.body['error'], 'a valid bearer token is required');
    assert.equal((await send('/incidents?since=..')).status, 401, 'a query holding ".." is not a path segment');
  });
});
