import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkOutages, mergeOutages, recordAttempt, startOutages, stillOpen } from '../../engine/outages';

const t = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

function run(attempts: [boolean, number][], openOutage?: string) {
  const state = startOutages(openOutage);
  for (const [ok, s] of attempts) recordAttempt(state, ok, t(s));
  return chunkOutages(state);
}

describe('outage bookkeeping of the drill probes', () => {
  test('only successes make no outage', () => {
    assert.deepEqual(run([[true, 0], [true, 1], [true, 2]]), []);
  });

  test('a run of failures is one outage from its first failure to the first success after it', () => {
    assert.deepEqual(run([[true, 0], [false, 1], [false, 2], [false, 3], [true, 4], [true, 5]]), [{ from: t(1), to: t(4) }]);
  });

  test('separate runs of failures are separate outages, oldest first', () => {
    assert.deepEqual(run([[false, 0], [true, 1], [true, 2], [false, 3], [true, 4]]), [
      { from: t(0), to: t(1) },
      { from: t(3), to: t(4) },
    ]);
  });

  test('failures still going on at the end leave the last outage open, without to', () => {
    const outages = run([[true, 0], [false, 1], [true, 2], [false, 3], [false, 4]]);
    assert.deepEqual(outages, [{ from: t(1), to: t(2) }, { from: t(3) }]);
    assert.equal(stillOpen(outages), t(3));
    assert.equal(Object.hasOwn(outages[1] ?? {}, 'to'), false);
  });

  test('an outage handed in open is closed by the first success and keeps its from', () => {
    assert.deepEqual(run([[false, 10], [true, 11], [true, 12]], t(5)), [{ from: t(5), to: t(11) }]);
  });

  test('an outage handed in open stays open, with its own from, while every attempt fails', () => {
    const outages = run([[false, 10], [false, 11]], t(5));
    assert.deepEqual(outages, [{ from: t(5) }]);
    assert.equal(stillOpen(outages), t(5));
  });

  test('a chunk that made no attempt hands the open outage on unchanged', () => {
    assert.deepEqual(run([], t(5)), [{ from: t(5) }]);
    assert.deepEqual(run([]), []);
  });

  test('a closed last outage leaves nothing open', () => {
    assert.equal(stillOpen(run([[false, 1], [true, 2]])), undefined);
    assert.equal(stillOpen([]), undefined);
  });
});

describe('outages across chunks', () => {
  test('the next chunk replaces the open outage it carried on, and adds its own', () => {
    const first = run([[true, 0], [false, 1], [true, 2], [false, 3]]);
    const second = run([[false, 4], [true, 5], [false, 6], [true, 7]], stillOpen(first));
    assert.deepEqual(mergeOutages(first, second), [
      { from: t(1), to: t(2) },
      { from: t(3), to: t(5) },
      { from: t(6), to: t(7) },
    ]);
  });

  test('an outage that spans several chunks stays one outage', () => {
    let sofar = run([[true, 0], [false, 1]]);
    sofar = mergeOutages(sofar, run([[false, 2], [false, 3]], stillOpen(sofar)));
    assert.deepEqual(sofar, [{ from: t(1) }]);
    sofar = mergeOutages(sofar, run([[true, 4]], stillOpen(sofar)));
    assert.deepEqual(sofar, [{ from: t(1), to: t(4) }]);
  });

  test('chunks with nothing open are simply appended', () => {
    assert.deepEqual(mergeOutages([{ from: t(1), to: t(2) }], [{ from: t(5) }]), [{ from: t(1), to: t(2) }, { from: t(5) }]);
    assert.deepEqual(mergeOutages([], []), []);
  });
});
