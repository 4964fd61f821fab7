import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { action, harness, rejectsWith, request } from '../fixtures/activities/harness';

const NODE = process.execPath;

describe('probes against real targets', () => {
  let server: http.Server;
  let port: number;
  let status = 200;
  let delayMs = 0;
  const h = harness();
  const url = (p = '/health') => `http://127.0.0.1:${port}${p}`;

  before(async () => {
    server = http.createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(status, { connection: 'close' });
        res.end('state: ok (v1.2+build)');
      }, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('an HTTP probe reports ok, status and latency', async () => {
    const outcome = await h.probeOnce({ target: { http: { url: url() } }, timeoutMs: 1000, allowedExecutables: [] });
    assert.equal(outcome.ok, true);
    assert.equal(outcome.status, 200);
    assert.equal(typeof outcome.latency_ms, 'number');
  });

  test('any 2xx is healthy by default but a 3xx or 5xx is not', async () => {
    const probe = () => h.probeOnce({ target: { http: { url: url() } }, timeoutMs: 1000, allowedExecutables: [] });
    status = 204;
    assert.equal((await probe()).ok, true);
    status = 302;
    assert.deepEqual([(await probe()).ok, (await probe()).status], [false, 302]);
    status = 503;
    assert.equal((await probe()).ok, false);
    status = 200;
  });

  test('body_match is a plain substring, even with regular-expression characters', async () => {
    const probe = (body_match: string) =>
      h.probeOnce({ target: { http: { url: url(), body_match } }, timeoutMs: 1000, allowedExecutables: [] });
    assert.equal((await probe('(v1.2+build)')).ok, true);
    assert.equal((await probe('v1.2.build')).ok, false);
  });

  test('max_latency turns a slow answer into an unhealthy one', async () => {
    delayMs = 150;
    try {
      const probe = action({ kind: 'probe', target: { http: { url: url(), max_latency: '50ms' } }, timeout: '2s' });
      const result = await h.runAction(request(probe));
      assert.equal(result.output.ok, false);
      assert.equal(result.output.status, 200);
      assert.match(String(result.output.detail), /took/);
    } finally {
      delayMs = 0;
    }
  });

  test('a TCP probe is ok when the port accepts and not when nothing listens', async () => {
    const up = await h.probeOnce({ target: { tcp: { host: '127.0.0.1', port } }, timeoutMs: 1000, allowedExecutables: [] });
    assert.equal(up.ok, true);
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const down = await h.probeOnce({ target: { tcp: { host: '127.0.0.1', port: closed } }, timeoutMs: 1000, allowedExecutables: [] });
    assert.equal(down.ok, false);
  });

  test('a command probe reports its exit code and honours expect_exit_code', async () => {
    const probe = (code: number, expect: number) =>
      h.probeOnce({
        target: { command: { argv: [NODE, '-e', `process.exit(${code})`], expect_exit_code: expect } },
        timeoutMs: 2000,
        allowedExecutables: [NODE],
      });
    assert.deepEqual(await probe(0, 0).then((o) => [o.ok, o.exit_code]), [true, 0]);
    assert.deepEqual(await probe(2, 0).then((o) => [o.ok, o.exit_code]), [false, 2]);
    assert.deepEqual(await probe(2, 2).then((o) => [o.ok, o.exit_code]), [true, 2]);
    assert.deepEqual(await probe(0, 2).then((o) => [o.ok, o.exit_code]), [false, 0]);
  });

  test('verify passes on a healthy target and fails retryably on an unhealthy one', async () => {
    const verify = action({ kind: 'verify', target: { http: { url: url(), expect_status: 200 } }, timeout: '1s' });
    const ok = await h.runAction(request(verify));
    assert.equal(ok.output.ok, true);
    status = 500;
    try {
      const failure = await rejectsWith(h.runAction(request(verify)), 'ProbeUnhealthy', false);
      assert.match(failure.message, /HTTP 500/);
    } finally {
      status = 200;
    }
  });
});
