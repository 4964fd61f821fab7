import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { InvalidSpecError, NotAllowedError } from '../../../activities/adapters/errors';
import { probe } from '../../../activities/adapters/probe';
import type { ProbeSpec } from '../../../schemas/probe-spec';
import { freePort } from '../../../stack/ports';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as net.AddressInfo).port;
}

describe('probes against live, dead and hung servers', () => {
  const live = http.createServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 300);
      return;
    }
    if (req.url === '/missing') {
      res.writeHead(404).end('no');
      return;
    }
    res.end('status: green');
  });
  // Accepts connections and never answers, like a stopped process behind a live socket.
  const hungSockets = new Set<net.Socket>();
  const hung = net.createServer((socket) => {
    hungSockets.add(socket);
    socket.on('close', () => hungSockets.delete(socket));
  });
  let livePort: number;
  let hungPort: number;
  let deadPort: number;

  before(async () => {
    livePort = await listen(live);
    hungPort = await listen(hung);
    deadPort = await freePort();
  });
  after(async () => {
    live.closeAllConnections();
    hungSockets.forEach((s) => s.destroy());
    await Promise.all([live, hung].map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  test('an http probe of a live server is ok and matches the body', async () => {
    const result = await probe({ kind: 'http', url: `http://127.0.0.1:${livePort}/`, bodyMatch: 'status: (green|yellow)', timeoutMs: 2000 });
    assert.equal(result.ok, true, result.detail);
    assert.ok(result.latencyMs >= 0);
    const mismatch = await probe({ kind: 'http', url: `http://127.0.0.1:${livePort}/`, bodyMatch: '^red$', timeoutMs: 2000 });
    assert.equal(mismatch.ok, false);
    assert.match(mismatch.detail, /does not match/);
  });

  test('an unexpected status fails unless it is the expected one', async () => {
    const url = `http://127.0.0.1:${livePort}/missing`;
    assert.equal((await probe({ kind: 'http', url, timeoutMs: 2000 })).ok, false);
    assert.equal((await probe({ kind: 'http', url, expectStatus: 404, timeoutMs: 2000 })).ok, true);
    assert.equal((await probe({ kind: 'http', url, expectStatus: { min: 400, max: 499 }, timeoutMs: 2000 })).ok, true);
  });

  test('an answer slower than maxLatencyMs is a failure', async () => {
    const result = await probe({ kind: 'http', url: `http://127.0.0.1:${livePort}/slow`, maxLatencyMs: 100, timeoutMs: 3000 });
    assert.equal(result.ok, false);
    assert.match(result.detail, /max 100/);
  });

  test('http and tcp probes of a closed port fail without throwing', async () => {
    const httpResult = await probe({ kind: 'http', url: `http://127.0.0.1:${deadPort}/`, timeoutMs: 2000 });
    assert.equal(httpResult.ok, false);
    assert.match(httpResult.detail, /ECONNREFUSED/);
    const tcpResult = await probe({ kind: 'tcp', host: '127.0.0.1', port: deadPort, timeoutMs: 2000 });
    assert.equal(tcpResult.ok, false);
  });

  test('an http probe of a server that never answers fails by timeout', async () => {
    const result = await probe({ kind: 'http', url: `http://127.0.0.1:${hungPort}/`, timeoutMs: 300 });
    assert.equal(result.ok, false);
    assert.match(result.detail, /no answer within 300 ms/);
    assert.ok(result.latencyMs >= 250 && result.latencyMs < 2000, `latency ${result.latencyMs}`);
  });

  test('a tcp probe only proves the port accepts connections', async () => {
    assert.equal((await probe({ kind: 'tcp', host: '127.0.0.1', port: livePort, timeoutMs: 2000 })).ok, true);
    assert.equal((await probe({ kind: 'tcp', host: '127.0.0.1', port: hungPort, timeoutMs: 2000 })).ok, true);
  });

  test('a command probe passes on the expected exit code and fails on others or on timeout', async () => {
    const node = process.execPath;
    assert.equal((await probe({ kind: 'command', argv: [node, '-e', 'process.exit(0)'], timeoutMs: 5000 })).ok, true);
    assert.equal((await probe({ kind: 'command', argv: [node, '-e', 'process.exit(2)'], timeoutMs: 5000 })).ok, false);
    assert.equal(
      (await probe({ kind: 'command', argv: [node, '-e', 'process.exit(2)'], expectExitCode: 2, timeoutMs: 5000 })).ok,
      true,
    );
    const slow = await probe({ kind: 'command', argv: [node, '-e', 'setTimeout(() => {}, 20000)'], timeoutMs: 300 });
    assert.equal(slow.ok, false);
    assert.match(slow.detail, /did not finish/);
  });

  test('invalid specs and disallowed commands throw', async () => {
    const bad = [
      { kind: 'http', url: 'ftp://127.0.0.1/', timeoutMs: 100 },
      { kind: 'http', url: 'http://127.0.0.1/', bodyMatch: '([', timeoutMs: 100 },
      { kind: 'tcp', host: '127.0.0.1', port: 70000, timeoutMs: 100 },
      { kind: 'dns', timeoutMs: 100 },
    ] as unknown as ProbeSpec[];
    for (const spec of bad) await assert.rejects(probe(spec), InvalidSpecError);
    await assert.rejects(
      probe({ kind: 'command', argv: ['/bin/true'], timeoutMs: 100 }, { commandAllowList: ['/usr/bin/curl'] }),
      NotAllowedError,
    );
  });
});
