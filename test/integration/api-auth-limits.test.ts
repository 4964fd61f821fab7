import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { tokenAuthenticator } from '../../api/auth';
import { startApiServer } from '../../api/server';
import { createToken } from '../../config/tokens';
import { closeHttpServer, SECURITY_HEADERS } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { freePorts } from '../../stack/ports';

/*
 * The approval API server with the real token authenticator over a tokens
 * file, on the process registry (the default). Temporal is stood in for by an empty
 * visibility: every request here is answered from authentication, health,
 * metrics or an empty incident list.
 */

const LIMIT = 5;
/** Short, so the test can wait out a window instead of moving a clock the plugin does not read. */
const WINDOW_MS = 2_000;
const dir = mkdtempSync(join(tmpdir(), 'api-auth-limits-'));
const tokensFile = join(dir, 'tokens.yaml');
let server: Server;
let port = 0;
let token = '';
const logged: string[] = [];

before(async () => {
  [port = 0] = await freePorts(1);
  token = await createToken(tokensFile, 'alice');
  const client = {
    workflow: {
      list: async function* () {
        // No incidents.
      },
      count: () => Promise.resolve({ count: 0 }),
    },
  } as unknown as Client;
  const logger = createLogger('test-api', 'debug');
  const capture = (level: 'debug' | 'info' | 'warn' | 'error') => (msg: string, fields?: Record<string, unknown>) => logged.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  Object.assign(logger, { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') });
  server = await startApiServer({ client, decisionKey: randomBytes(32), auth: tokenAuthenticator(tokensFile), logger, port, authFailuresPerMinute: LIMIT, authFailureWindowMs: WINDOW_MS });
});

after(async () => {
  if (server) await closeHttpServer(server);
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, bearer?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
}

/** Waits until a good token is let through again, i.e. the failure window has ended; the wait is bounded by a few windows. */
async function windowEnded(): Promise<void> {
  const deadline = Date.now() + WINDOW_MS * 5;
  for (;;) {
    const status = (await get('/incidents', token)).status;
    if (status === 200) return;
    assert.equal(status, 429);
    assert.ok(Date.now() < deadline, 'the failure window never ended');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('failed authentication is rate-limited per client address', () => {
  test('successful requests spend none of the allowance', async () => {
    for (let i = 0; i < LIMIT * 3; i++) assert.equal((await get('/incidents', token)).status, 200);
  });

  test('after the allowed failures every guarded request gets 429 with Retry-After, even with a good token, until the allowance comes back', async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await get('/incidents', `rbk_guess-${i}`);
      assert.equal(res.status, 401, `failure ${i + 1}`);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    const limited = await get('/incidents', 'rbk_guess-more');
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= WINDOW_MS / 1000, String(retryAfter));
    assert.match(((await limited.json()) as { error: string }).error, /too many failed authentications/);
    assert.equal((await get('/incidents', token)).status, 429, 'a blocked address learns nothing about any token');
    assert.equal((await get('/healthz')).status, 200, 'health stays open');

    await windowEnded();
    for (let i = 0; i < LIMIT; i++) assert.equal((await get('/incidents', `rbk_guess-again-${i}`)).status, 401, `the window's allowance came back: failure ${i + 1}`);
    assert.equal((await get('/incidents', 'rbk_guess-again')).status, 429);
  });

  test('the refusals are counted without any token or identity in the labels', async () => {
    const text = await (await get('/metrics')).text();
    assert.match(text, /runbook_api_auth_refused_total\{reason="invalid_token"\} [1-9]/);
    assert.match(text, /runbook_api_auth_refused_total\{reason="rate_limited"\} [1-9]/);
  });

  test('no token appears in anything logged', () => {
    assert.ok(logged.some((l) => l.includes('bearer token refused')), 'the refusals were logged');
    for (const line of logged) {
      assert.ok(!line.includes(token) && !line.includes('rbk_guess'), line);
    }
  });
});

describe('what the open endpoints and every answer show', () => {
  test('/healthz answers {"ok":true} and nothing more', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"ok":true}');
  });

  test('/metrics names no versions, hosts, tokens or identities', async () => {
    const text = await (await get('/metrics')).text();
    assert.ok(text.includes('runbook_approvals_pending'), 'the approval metrics are there');
    assert.doesNotMatch(text, /version/i);
    assert.doesNotMatch(text, /hostname|alice|rbk_|identity/i);
  });

  test('every answer carries the security headers', async () => {
    for (const res of [await get('/healthz'), await get('/metrics'), await get('/incidents', token), await get('/nowhere')]) {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(res.headers.get(name), value, `${name} on ${res.url}`);
    }
    await windowEnded();
    const refused = await get('/incidents');
    assert.equal(refused.status, 401);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.equal(refused.headers.get(name), value, `${name} on a 401`);
  });
});
