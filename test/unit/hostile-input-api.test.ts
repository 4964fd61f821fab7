import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { Registry } from 'prom-client';
import type { Authenticator } from '../../api/auth';
import { startApiServer } from '../../api/server';
import { closeHttpServer } from '../../observability/http-server';
import { createLogger } from '../../observability/logger';
import { freePorts } from '../../stack/ports';
import { assertNotPolluted, DEEP, HOSTILE_NAMES, nestedArrays, nestedObjects, PROTOTYPE_KEYS } from '../helpers/hostile-input';
import { postBody } from '../helpers/http-post';

/*
 * The approval API in this process, Temporal stood in for by a recorder: a
 * hostile decision body gets a 4xx naming the field and never reaches an
 * incident; a valid one afterwards still does.
 */

const reached: string[] = [];
let server: Server;
let port = 0;

before(async () => {
  [port = 0] = await freePorts(1);
  const handle = (id: string) => ({
    executeUpdate: (_update: unknown, { args }: { args: [{ step: string; requestId?: string }] }) => {
      reached.push(id);
      return Promise.resolve({ requestId: args[0].requestId ?? 'r-1', step: args[0].step, approvals: 1, needed: 1, outcome: 'approved' });
    },
  });
  const client = { workflow: { getHandle: handle }, withDeadline: (_deadline: number, fn: () => unknown) => fn() } as unknown as Client;
  const auth: Authenticator = { identifyToken: (token) => Promise.resolve(token === 'good' ? 'alice' : undefined) };
  server = await startApiServer({ client, auth, decisionKey: randomBytes(32), logger: createLogger('hostile-api', 'error'), port, registry: new Registry() });
});

after(async () => {
  if (server) await closeHttpServer(server);
});

const decisions = (path = 'checkout/node-1'): string => `http://127.0.0.1:${port}/incidents/${path}/decisions`;
const headers = { authorization: 'Bearer good', 'content-type': 'application/json' };
const valid = { verdict: 'approve', reason: 'looked at it', step: 'isolate' };

/** POSTs and checks Temporal was never asked. */
async function refusedPost(body: string, path?: string, chunked = false): Promise<{ status: number; error: string }> {
  const before = reached.length;
  const res = await postBody(decisions(path), body, headers, chunked);
  assert.equal(reached.length, before, 'the decision never reached an incident');
  return { status: res.status, error: String(res.json.error) };
}

describe('oversized decision bodies get 413 naming the limit', () => {
  for (const [name, size] of [['1 MiB', 1024 * 1024], ['10 MiB', 10 * 1024 * 1024]] as const) {
    for (const chunked of [false, true]) {
      test(`${name}${chunked ? ', streamed without Content-Length' : ''}`, async () => {
        const body = JSON.stringify({ ...valid, reason: 'x'.repeat(size) });
        const res = await refusedPost(body, undefined, chunked);
        assert.equal(res.status, 413);
        assert.equal(res.error, 'body larger than 16384 bytes');
      });
    }
  }
});

test(`a body nested ${DEEP} levels is over the 16 KiB limit: 413, not a crash`, async () => {
  const res = await refusedPost(`{"verdict":${nestedArrays(DEEP)},"reason":"r"}`);
  assert.equal(res.status, 413);
});

/** As deep as fits under the body limit (two bytes a level). */
const FITS = 8_000;

describe('malformed decision bodies get 400 naming the field', () => {
  const cases: { name: string; body: string; error: RegExp }[] = [
    { name: 'an empty body', body: '', error: /^body is not JSON/ },
    { name: 'truncated JSON', body: JSON.stringify(valid).slice(0, 20), error: /^body is not JSON/ },
    { name: 'an array', body: '[]', error: /^body: .*expected object/ },
    { name: 'null', body: 'null', error: /^body: .*expected object/ },
    { name: 'a numeric verdict', body: JSON.stringify({ ...valid, verdict: 1 }), error: /^verdict: / },
    { name: 'an object reason', body: JSON.stringify({ ...valid, reason: {} }), error: /^reason: .*expected string/ },
    { name: 'no verdict and no reason', body: '{}', error: /^verdict: .*; reason: / },
    { name: 'a blank reason', body: JSON.stringify({ ...valid, reason: '   ' }), error: /^reason: a reason is required/ },
    { name: 'a `by` field', body: JSON.stringify({ ...valid, by: 'mallory' }), error: /^body: .*"by"/ },
    { name: `a verdict nested ${FITS} levels`, body: `{"verdict":${nestedArrays(FITS)},"reason":"r"}`, error: /^verdict: / },
    { name: `an extra field nested ${FITS / 5} levels`, body: `{"verdict":"approve","reason":"r","x":${nestedObjects(FITS / 5)}}`, error: /^body: .*"x"/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const res = await refusedPost(c.body);
      assert.equal(res.status, 400, res.error);
      assert.match(res.error, c.error);
    });
  }
});

describe('hostile step and request ids are refused naming the field', () => {
  for (const field of ['step', 'requestId'] as const) {
    for (const { what, value } of HOSTILE_NAMES) {
      test(`${field} with ${what}`, async () => {
        const res = await refusedPost(JSON.stringify({ ...valid, requestId: 'r-1', [field]: value }));
        assert.equal(res.status, 400, res.error);
        assert.match(res.error, new RegExp(`^${field}: `));
      });
    }
  }

  test('a reason is prose: punctuation, quotes and shell metacharacters pass as text', async () => {
    const before = reached.length;
    const res = await postBody(decisions(), JSON.stringify({ ...valid, reason: `it's down; "rm -rf /" is not the fix | $(no) && \`no\`` }), headers);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(reached.length, before + 1);
  });
});

describe('hostile incident ids in the path never reach an incident', () => {
  for (const path of ['checkout%0a/node-1', 'checkout/node-1%3Breboot', 'checkout/%24(reboot)', '..%2F..%2Fetc/passwd', 'checkout/node%E2%80%8B1', 'checkout/node-1%00']) {
    test(path, async () => {
      const res = await refusedPost(JSON.stringify(valid), path);
      assert.ok(res.status === 400 || res.status === 404, `${res.status} ${res.error}`);
    });
  }
});

describe('__proto__, constructor and prototype keys', () => {
  for (const key of PROTOTYPE_KEYS) {
    test(`${key} in a decision body is refused naming it, and pollutes nothing`, async () => {
      const res = await refusedPost(`{"verdict":"approve","reason":"r",${JSON.stringify(key)}:{"polluted":"yes"}}`);
      assert.equal(res.status, 400);
      assert.match(res.error, new RegExp(`"${key}"`));
      assertNotPolluted();
    });
  }
});

test('after all of it /healthz answers and a valid decision is delivered', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const before = reached.length;
  const res = await postBody(decisions(), JSON.stringify({ ...valid, requestId: '6c1f2d8e-93a4-4c55-8a1e-0d7f3b2a9e10' }), headers);
  assert.equal(res.status, 200, JSON.stringify(res.json));
  assert.deepEqual(reached.slice(before), ['incident/checkout/node-1']);
});
