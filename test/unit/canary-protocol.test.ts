import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CANARY_FILE, MODEL_FILE, startModelServer } from '../../demo/model-server';
import { CanaryReading, readCanary, type CanaryRecord } from '../../schemas/canary';
import { freePort } from '../../stack/ports';

const t = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('the canary records of drills, read by time', () => {
  const records: CanaryRecord[] = [
    { seq: 0, at: t(0), drill: 'd1' },
    { seq: 1, at: t(1), drill: 'd1' },
    { seq: 0, at: t(1), drill: 'd2' },
    { seq: 2, at: t(2), drill: 'd1' },
  ];

  test('the newest record at or before the time, and how many of the drill there are by then', () => {
    assert.deepEqual(readCanary(records, { drill: 'd1', before: t(1) }), { newest: { seq: 1, at: t(1) }, count: 2 });
    assert.deepEqual(readCanary(records, { drill: 'd1', before: t(9) }), { newest: { seq: 2, at: t(2) }, count: 3 });
    assert.deepEqual(readCanary(records, { drill: 'd2', before: t(9) }), { newest: { seq: 0, at: t(1) }, count: 1 });
  });

  test('nothing written by then, or of another drill, is no record', () => {
    assert.deepEqual(readCanary(records, { drill: 'd1', before: new Date(Date.parse(t(0)) - 1).toISOString() }), { newest: null, count: 0 });
    assert.deepEqual(readCanary(records, { drill: 'd3', before: t(9) }), { newest: null, count: 0 });
  });

  test('times with an offset compare as instants', () => {
    assert.deepEqual(readCanary(records, { drill: 'd1', before: '2026-01-01T01:00:01+01:00' }), { newest: { seq: 1, at: t(1) }, count: 2 });
  });
});

describe('the demo model server speaks the canary protocol', () => {
  let dir: string;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'canary-'));
    await writeFile(path.join(dir, MODEL_FILE), JSON.stringify({ version: 1, bias: 0, weights: [1] }));
    const port = await freePort();
    server = await startModelServer({ name: 'primary', port, dataDir: dir });
    base = `http://127.0.0.1:${port}/canary`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: unknown) => fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = async (query: Record<string, string>) => {
    const res = await fetch(`${base}?${new URLSearchParams(query).toString()}`);
    return { status: res.status, body: (await res.json()) as unknown };
  };

  test('a read before any write finds nothing', async () => {
    assert.deepEqual(await get({ drill: 'drill-a', before: t(100) }), { status: 200, body: { instance: 'primary', newest: null, count: 0 } });
  });

  test('each write is answered 201 and kept as one JSON line in the data directory', async () => {
    for (const r of [{ seq: 0, at: t(10), drill: 'drill-a' }, { seq: 1, at: t(11), drill: 'drill-a' }, { seq: 2, at: t(12), drill: 'drill-a' }, { seq: 0, at: t(11), drill: 'drill-b' }]) {
      const res = await post(r);
      assert.equal(res.status, 201);
    }
    const lines = (await readFile(path.join(dir, CANARY_FILE), 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.deepEqual(JSON.parse(lines[1] ?? ''), { seq: 1, at: t(11), drill: 'drill-a' });
  });

  test('a read answers the newest record of that drill written at or before the time, and the count', async () => {
    const r = await get({ drill: 'drill-a', before: t(11) });
    assert.equal(r.status, 200);
    assert.deepEqual(CanaryReading.parse(r.body), { instance: 'primary', newest: { seq: 1, at: t(11) }, count: 2 });
    assert.deepEqual((await get({ drill: 'drill-a', before: t(99) })).body, { instance: 'primary', newest: { seq: 2, at: t(12) }, count: 3 });
    assert.deepEqual((await get({ drill: 'drill-b', before: t(99) })).body, { instance: 'primary', newest: { seq: 0, at: t(11) }, count: 1 });
    assert.deepEqual((await get({ drill: 'drill-a', before: t(9) })).body, { instance: 'primary', newest: null, count: 0 });
  });

  test('bad writes are answered 400 naming the field, and nothing is kept', async () => {
    const cases: [unknown, string][] = [
      [{ seq: -1, at: t(1), drill: 'x' }, 'seq'],
      [{ seq: 1.5, at: t(1), drill: 'x' }, 'seq'],
      [{ seq: 1, at: 'yesterday', drill: 'x' }, 'at'],
      [{ seq: 1, drill: 'x' }, 'at'],
      [{ seq: 1, at: t(1), drill: 'has space' }, 'drill'],
      [{ seq: 1, at: t(1) }, 'drill'],
      ['{not json', 'body'],
    ];
    const before = await readFile(path.join(dir, CANARY_FILE), 'utf8');
    for (const [body, field] of cases) {
      const res = await post(body);
      const answer = (await res.json()) as { error: string };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(answer.error, new RegExp(`^${field}: `), JSON.stringify(body));
    }
    assert.equal(await readFile(path.join(dir, CANARY_FILE), 'utf8'), before);
  });

  test('a body over the limit is answered 413', async () => {
    const res = await post({ seq: 1, at: t(1), drill: 'x'.repeat(5_000) });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { error: string }).error, /^body: /);
  });

  test('bad reads are answered 400 naming the parameter', async () => {
    for (const [query, field] of [
      [{ drill: 'drill-a' }, 'before'],
      [{ drill: 'drill-a', before: 'soon' }, 'before'],
      [{ before: t(1) }, 'drill'],
    ] as const) {
      const r = await get(query);
      assert.equal(r.status, 400, JSON.stringify(query));
      assert.match((r.body as { error: string }).error, new RegExp(`^${field}: `));
    }
  });

  test('a line cut short in the file is skipped, the others still count', async () => {
    await writeFile(path.join(dir, CANARY_FILE), `${JSON.stringify({ seq: 5, at: t(50), drill: 'drill-c' })}\n{"seq":6,"at":"2026-01-0`, { flag: 'a' });
    assert.deepEqual((await get({ drill: 'drill-c', before: t(99) })).body, { instance: 'primary', newest: { seq: 5, at: t(50) }, count: 1 });
  });

  test('with the data directory gone a write fails 503 and does not bring it back; a read finds nothing', async () => {
    await rm(dir, { recursive: true, force: true });
    const res = await post({ seq: 9, at: t(90), drill: 'drill-a' });
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    await assert.rejects(readFile(path.join(dir, CANARY_FILE)), { code: 'ENOENT' });
    assert.deepEqual((await get({ drill: 'drill-a', before: t(99) })).body, { instance: 'primary', newest: null, count: 0 });
  });
});
