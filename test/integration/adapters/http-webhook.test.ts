import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  InvalidSpecError,
  TimeoutError,
  WebhookRejectedError,
  WebhookUnavailableError,
} from '../../../activities/adapters/errors';
import { postWebhook } from '../../../activities/adapters/http-webhook';
import type { PostWebhookInput } from '../../../activities/adapters/http-webhook';
import { freePort } from '../../../stack/ports';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('postWebhook against a local receiver', () => {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
      if (req.url === '/hang') return;
      if (req.url === '/echo-auth') {
        res.writeHead(401).end(`bad credentials: ${req.headers.authorization ?? ''}`);
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
    });
  });
  let base: string;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  beforeEach(() => {
    received.length = 0;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const common = { body: { incident: 'inc-1', step: 'isolate' }, timeoutMs: 3000, idempotencyKey: 'inc-1:isolate:1', dryRun: false };

  test('a 2xx answer resolves, and the receiver gets JSON with the Idempotency-Key', async () => {
    const result = await postWebhook({ ...common, url: `${base}/status/202`, headers: { 'X-Runbook': 'failover' } });
    assert.equal(result.dryRun, false);
    assert.equal(result.dryRun === false && result.status, 202);
    assert.equal(received.length, 1);
    const [req] = received;
    assert.equal(req?.method, 'POST');
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.equal(req?.headers['idempotency-key'], 'inc-1:isolate:1');
    assert.equal(req?.headers['x-runbook'], 'failover');
    assert.deepEqual(JSON.parse(req?.body ?? ''), common.body);
  });

  test('a 4xx answer is a non-retryable WebhookRejected error', async () => {
    await assert.rejects(postWebhook({ ...common, url: `${base}/status/422` }), (err: unknown) => {
      assert.ok(err instanceof WebhookRejectedError);
      assert.equal(err.status, 422);
      assert.equal(err.retryable, false);
      return true;
    });
  });

  test('a 5xx answer or a 429 is a retryable WebhookUnavailable error', async () => {
    for (const status of [503, 429]) {
      await assert.rejects(postWebhook({ ...common, url: `${base}/status/${status}` }), (err: unknown) => {
        assert.ok(err instanceof WebhookUnavailableError);
        assert.equal(err.status, status);
        assert.equal(err.retryable, true);
        return true;
      });
    }
  });

  test('a receiver that never answers is a retryable timeout, and a closed port is unavailable', async () => {
    await assert.rejects(postWebhook({ ...common, url: `${base}/hang`, timeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.retryable, true);
      return true;
    });
    const closed = await freePort();
    await assert.rejects(postWebhook({ ...common, url: `http://127.0.0.1:${closed}/` }), WebhookUnavailableError);
  });

  test('secret header values are sent but never echoed in results or errors', async () => {
    const secretSource = { env: { HOOK_TOKEN: 'Bearer hook-secret-77aa' } };
    const ok = await postWebhook(
      { ...common, url: `${base}/status/200`, secretHeaders: { Authorization: { env: 'HOOK_TOKEN' } } },
      { secretSource },
    );
    assert.equal(received[0]?.headers.authorization, 'Bearer hook-secret-77aa');
    assert.doesNotMatch(JSON.stringify(ok), /hook-secret/);

    await assert.rejects(
      postWebhook({ ...common, url: `${base}/echo-auth`, secretHeaders: { Authorization: { env: 'HOOK_TOKEN' } } }, { secretSource }),
      (err: unknown) => {
        assert.ok(err instanceof WebhookRejectedError);
        assert.match(err.message, /bad credentials: \*\*\*/);
        assert.doesNotMatch(err.message, /hook-secret/);
        return true;
      },
    );
  });

  test('a dry-run sends nothing and lists header names only', async () => {
    const secretSource = { env: { HOOK_TOKEN: 'Bearer hook-secret-77aa' } };
    const result = await postWebhook(
      { ...common, dryRun: true, url: `${base}/status/200`, secretHeaders: { Authorization: { env: 'HOOK_TOKEN' } } },
      { secretSource },
    );
    assert.equal(result.dryRun, true);
    assert.match(result.dryRun ? result.plan : '', /would POST \d+ bytes of JSON to .* Idempotency-Key inc-1:isolate:1 and headers Authorization \(secret\)/);
    assert.doesNotMatch(JSON.stringify(result), /hook-secret/);
    assert.equal(received.length, 0);
  });

  test('reserved headers, credentials in the url and bad keys are invalid specs', async () => {
    const bad: Array<Partial<PostWebhookInput> & { url: string }> = [
      { url: `${base}/`, headers: { 'Idempotency-Key': 'other' } },
      { url: `http://user:pw@127.0.0.1:1/` },
      { url: `${base}/`, idempotencyKey: 'has space' },
      { url: `${base}/`, headers: { 'X-Bad': 'a\r\nInjected: 1' } },
      { url: 'ftp://127.0.0.1/' },
    ];
    for (const overrides of bad) {
      await assert.rejects(postWebhook({ ...common, ...overrides }), InvalidSpecError);
    }
    assert.equal(received.length, 0);
  });
});
