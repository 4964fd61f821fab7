import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDrillActivities } from '../../activities/drill-activities';
import { CanaryRejectedError, CanaryUnavailableError, readCanaries, writeCanaries, type CanaryChunkResult, type CanaryProgress, type CanaryReadResult } from '../../activities/drill-canary';
import { sendLoad } from '../../activities/drill-load';
import { MODEL_FILE, startModelServer } from '../../demo/model-server';
import { CanarySpec, LoadSpec } from '../../schemas/runbook';
import { freePorts } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';

/*
 * The drill's canary and load chunks against the real demo model server,
 * stopped and started again while they run.
 */

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('the drill canary against the demo model server', () => {
  let dir: string;
  let port: number;
  let deadPort: number;
  let server: http.Server | undefined;
  let canary: CanarySpec;
  const start = async (): Promise<void> => {
    server = await startModelServer({ name: 'primary', port, dataDir: dir });
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drill-probes-'));
    await writeFile(path.join(dir, MODEL_FILE), JSON.stringify({ version: 1, bias: 0, weights: [1] }));
    [port, deadPort] = (await freePorts(2)) as [number, number];
    canary = CanarySpec.parse({ write: { url: `http://127.0.0.1:${port}/canary` }, read: { url: `http://127.0.0.1:${port}/canary?from=test` }, interval: '50ms' });
    await start();
  });
  after(async () => {
    if (server?.listening) await stop(server);
    await rm(dir, { recursive: true, force: true });
  });

  test('a chunk counts its writes and the outage while the server was down, and the read finds the acknowledged records', async () => {
    let progress: CanaryProgress | undefined;
    const abort = new AbortController();
    const chunk = writeCanaries({ drillId: 'drill-1', canary, fromSeq: 100, durationMs: 60_000 }, { heartbeat: (p) => (progress = structuredClone(p as CanaryProgress)), signal: abort.signal });
    await waitFor('three acknowledged writes', 10_000, () => (progress?.written ?? 0) >= 3);
    await stop(server as http.Server);
    const writtenBefore = progress?.written ?? 0;
    await waitFor('three failed writes', 10_000, () => (progress?.writeFailures ?? 0) >= 3);
    await start();
    await waitFor('writes acknowledged again', 10_000, () => (progress?.written ?? 0) >= writtenBefore + 3);
    abort.abort();
    const result = await chunk;

    assert.equal(result.nextSeq - 100, result.written + result.writeFailures, 'every attempt took one sequence number');
    assert.ok(result.writeFailures >= 3);
    assert.equal(result.outages.length, 1, JSON.stringify(result.outages));
    const [outage] = result.outages;
    assert.ok(outage?.to !== undefined, 'the outage closed once the server answered again');
    assert.ok(Date.parse(outage.from) < Date.parse(outage.to));
    assert.ok(result.lastWritten && Date.parse(result.lastWritten.at) >= Date.parse(outage.to));

    const reading = await readCanaries({ drillId: 'drill-1', canary, before: new Date().toISOString() });
    assert.equal(reading.instance, 'primary');
    assert.deepEqual(reading.newest, result.lastWritten);
    // Every acknowledged write is found. A write the server stored as it was being stopped reaches the
    // client as a failure (the connection closed before the answer), so it may be found too, but no more than those.
    assert.ok(reading.count >= result.written && reading.count <= result.written + result.writeFailures, `${reading.count} found, ${result.written} acknowledged, ${result.writeFailures} failed`);
    // Up to the outage's start only the writes acknowledged before it are found, and the first failed write
    // too when the server stored it as it was being stopped: it is stamped with the outage's start.
    const beforeOutage = await readCanaries({ drillId: 'drill-1', canary, before: outage.from });
    const newestAt = Date.parse(beforeOutage.newest?.at ?? '');
    assert.ok(newestAt <= Date.parse(outage.from), `newest ${beforeOutage.newest?.at ?? 'none'} after the outage began at ${outage.from}`);
    const storedAsStopped = newestAt === Date.parse(outage.from) ? 1 : 0;
    assert.ok(beforeOutage.count >= writtenBefore - 1 && beforeOutage.count <= writtenBefore + storedAsStopped, `${beforeOutage.count} of ${writtenBefore}`);
  });

  test('an outage still open at the end of a chunk is handed on and closed by the next chunk', async () => {
    await stop(server as http.Server);
    const down = await writeCanaries({ drillId: 'drill-2', canary, fromSeq: 0, durationMs: 300 });
    assert.equal(down.written, 0);
    assert.ok(down.writeFailures >= 2);
    assert.equal(down.lastWritten, undefined);
    assert.equal(down.outages.length, 1);
    const from = down.outages[0]?.from ?? '';
    assert.equal(Object.hasOwn(down.outages[0] ?? {}, 'to'), false);

    await start();
    const up = await writeCanaries({ drillId: 'drill-2', canary, fromSeq: down.nextSeq, durationMs: 300, openOutage: from });
    assert.ok(up.written >= 2);
    assert.equal(up.writeFailures, 0);
    assert.deepEqual(up.outages, [{ from, to: up.outages[0]?.to }]);
    assert.ok(Date.parse(up.outages[0]?.to ?? '') > Date.parse(from));
    assert.equal(up.nextSeq, down.nextSeq + up.written);
    const reading = await readCanaries({ drillId: 'drill-2', canary, before: new Date().toISOString() });
    assert.equal(reading.count, up.written);
    assert.equal(reading.newest?.seq, up.nextSeq - 1);
  });

  test('a read of a server that does not answer fails retryably after its attempts; a refused read fails at once', async () => {
    const dead = CanarySpec.parse({ ...canary, read: { url: `http://127.0.0.1:${deadPort}/canary` } });
    await assert.rejects(readCanaries({ drillId: 'drill-1', canary: dead, before: new Date().toISOString() }), (err: unknown) => err instanceof CanaryUnavailableError && err.retryable);
    await assert.rejects(readCanaries({ drillId: 'drill-1', canary, before: 'not a time' }), (err: unknown) => err instanceof CanaryRejectedError && !err.retryable && /before/.test(err.message));
  });

  test('as activities: the chunk heartbeats its progress, a retried attempt carries on from it, and the read maps errors to typed failures', async () => {
    const activities = createDrillActivities();
    const env = new MockActivityEnvironment({ startToCloseTimeoutMs: 30_000, heartbeatTimeoutMs: 10_000 }, { logger: new DefaultLogger('ERROR') });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const first: CanaryChunkResult = await env.run(activities.canaryChunk, { drillId: 'drill-3', canary, fromSeq: 0, durationMs: 200 });
    assert.ok(first.written >= 2);
    assert.equal(beats.length, first.written + first.writeFailures, 'one heartbeat a write');

    const retried = new MockActivityEnvironment({ startToCloseTimeoutMs: 30_000, attempt: 2, heartbeatDetails: { ...(beats.at(-1) as CanaryProgress), endsAt: Date.now() + 200 } }, { logger: new DefaultLogger('ERROR') });
    const second: CanaryChunkResult = await retried.run(activities.canaryChunk, { drillId: 'drill-3', canary, fromSeq: 0, durationMs: 200 });
    assert.ok(second.nextSeq > first.nextSeq, 'the retry takes new sequence numbers');
    assert.equal(second.written, first.written + (second.nextSeq - first.nextSeq));

    const read: CanaryReadResult = await env.run(activities.canaryRead, { drillId: 'drill-3', canary, before: new Date().toISOString() });
    assert.equal(read.count, second.written);
    await assert.rejects(env.run(activities.canaryRead, { drillId: 'drill-3', canary, before: 'never' }), { name: 'ApplicationFailure', type: 'CanaryRejected', nonRetryable: true });
  });
});

describe('the drill load against a real HTTP server', () => {
  let server: http.Server;
  let port: number;
  let answer: (n: number) => number | 'hang';
  let served = 0;

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    server = http.createServer((req, res) => {
      const status = answer(served++);
      if (status === 'hang') return;
      res.writeHead(status).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  });
  after(() => stop(server));

  const load = (path: string, extra: Record<string, unknown> = {}) => LoadSpec.parse({ url: `http://127.0.0.1:${port}${path}`, rate: 20, timeout: '300ms', ...extra });

  test('a healthy service answers every request: nothing failed, no outage', async () => {
    served = 0;
    answer = () => 200;
    const r = await sendLoad({ load: load('/'), durationMs: 500 });
    assert.equal(r.sent, 10);
    assert.equal(served, 10);
    assert.deepEqual({ failed: r.failed, outages: r.outages }, { failed: 0, outages: [] });
  });

  test('non-2xx answers are failures, and a run of them is one outage that closes at the next success', async () => {
    served = 0;
    answer = (n) => (n >= 3 && n < 7 ? 503 : 200);
    const r = await sendLoad({ load: load('/'), durationMs: 500 });
    assert.equal(r.sent, 10);
    assert.equal(r.failed, 4);
    assert.equal(r.outages.length, 1);
    assert.ok(r.outages[0]?.to !== undefined && Date.parse(r.outages[0].to) > Date.parse(r.outages[0].from));
  });

  test('no answer within the timeout is a failure, and an open outage handed in stays open', async () => {
    answer = () => 'hang';
    const from = new Date(Date.now() - 1_000).toISOString();
    const started = Date.now();
    const r = await sendLoad({ load: load('/', { timeout: '200ms' }), durationMs: 250, openOutage: from });
    assert.ok(r.sent >= 4 && r.sent <= 6, String(r.sent));
    assert.equal(r.failed, r.sent);
    assert.deepEqual(r.outages, [{ from }]);
    assert.ok(Date.now() - started < 2_000, 'the chunk waited at most the timeout for the last answers');
    server.closeAllConnections();
  });

  test('a refused connection is a failure, and the open outage closes once the service answers again', async () => {
    const refused = await sendLoad({ load: LoadSpec.parse({ url: `http://127.0.0.1:${(await freePorts(1))[0]}/`, rate: 20, timeout: '300ms' }), durationMs: 200 });
    assert.equal(refused.failed, refused.sent);
    const from = refused.outages[0]?.from;
    assert.ok(from !== undefined && refused.outages.length === 1 && refused.outages[0]?.to === undefined);
    answer = () => 200;
    const back = await sendLoad({ load: load('/'), durationMs: 200, openOutage: from });
    assert.equal(back.failed, 0);
    assert.equal(back.outages.length, 1);
    assert.equal(back.outages[0]?.from, from);
    assert.ok(back.outages[0]?.to !== undefined);
  });
});
