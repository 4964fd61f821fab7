import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderReport, type RunFacts } from '../../bench/render';
import { formatMs, formatRate, percentile, summarize } from '../../bench/stats';
import type { BenchSection } from '../../bench/report-types';

describe('benchmark statistics', () => {
  test('percentiles use the nearest rank, so p99 of 100 samples is the 99th smallest', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    const s = summarize(samples);
    assert.deepEqual(s, { n: 100, p50: 50, p99: 99, max: 100 });
  });

  test('a single sample is every percentile', () => {
    assert.deepEqual(summarize([7]), { n: 1, p50: 7, p99: 7, max: 7 });
  });

  test('no samples is an error rather than a made-up figure', () => {
    assert.throws(() => percentile([], 0.5), RangeError);
  });

  test('times and rates are formatted with units that suit their size', () => {
    assert.equal(formatMs(0.4219), '0.42 ms');
    assert.equal(formatMs(42.19), '42.2 ms');
    assert.equal(formatMs(421.9), '422 ms');
    assert.equal(formatMs(4219), '4.22 s');
    assert.equal(formatRate(5123.6), '5,124/s');
  });
});

describe('benchmark report', () => {
  const facts: RunFacts = { date: '2026-01-02T03:04:05Z', cpu: 'Test CPU', cores: 2, memoryGiB: 24, node: '20.0.0', temporalCli: 'v1.5.1', natsServer: 'v2.14.9', stacks: [{ kind: 'embedded', engines: 'dev server' }], smoke: false, durationS: 61, command: 'npm run bench' };
  const section: BenchSection = {
    id: 'x',
    title: 'Event → workflow started',
    method: 'How it was measured.',
    rows: [
      { metric: 'p50', value: '6.00 ms', floor: '4.00 ms', ratio: 1.5, target: '≤ 10 ms', met: true },
      { metric: 'rate', value: '100/s', floor: '200/s', ratio: 2, target: '≥ 5,000/s', met: false },
      { metric: 'no floor', value: 'a|b' },
    ],
    notes: ['Why a target was missed.'],
  };

  test('every row appears in the summary and in its section, with floor, ratio and whether the target was met', () => {
    const md = renderReport(facts, [section], []);
    assert.match(md, /\| Event → workflow started \| p50 \| 6\.00 ms \| 4\.00 ms \| 1\.50× \| ≤ 10 ms \| yes \|/);
    assert.match(md, /\| rate \| 100\/s \| 200\/s \| 2\.00× \| ≥ 5,000\/s \| \*\*no\*\* \|/);
    assert.match(md, /\| no floor \| a\\\|b \| — \| — \| — \| — \|/, 'a pipe in a value is escaped and missing cells are dashes');
    assert.match(md, /## Event → workflow started\n\nHow it was measured\./);
    assert.match(md, /- Why a target was missed\./);
    assert.match(md, /Test CPU, 2 cores, 24 GiB/);
    assert.doesNotMatch(md, /Smoke run/);
  });

  test('a run over both stacks names the stack in every title and a speed-up reads as one', () => {
    const both: RunFacts = {
      ...facts,
      temporalServer: 'v1.32.2',
      postgres: '15.14',
      stacks: [
        { kind: 'embedded', engines: 'dev server' },
        { kind: 'cluster', engines: 'Temporal on PostgreSQL' },
      ],
    };
    const scaling: BenchSection = {
      id: 'worker-scaling',
      stack: 'cluster',
      title: 'Worker scaling',
      method: 'Drained.',
      rows: [{ metric: 'incidents/s, 2 workers', value: '15.0 incidents/s', floor: '10.0 incidents/s (1 worker)', ratio: 1.5, ratioIs: 'speed-up' }],
      notes: [],
    };
    const md = renderReport(both, [{ ...section, stack: 'embedded' }, { ...section, stack: 'cluster' }, scaling], []);
    assert.match(md, /\| Event → workflow started \(embedded\) \| p50 \|/);
    assert.match(md, /\| Event → workflow started \(cluster\) \| p50 \|/);
    assert.match(md, /## Worker scaling \(cluster\)\n/);
    assert.match(md, /\| incidents\/s, 2 workers \| 15\.0 incidents\/s \| 10\.0 incidents\/s \(1 worker\) \| 1\.50× speed-up \| — \| — \|/);
    assert.match(md, /\| cluster stack \| Temporal on PostgreSQL \|/);
    assert.match(md, /Temporal server v1\.32\.2, PostgreSQL 15\.14/);
  });

  test('a smoke run says its figures mean nothing, and a failed benchmark is listed as failed', () => {
    const md = renderReport({ ...facts, smoke: true }, [], [{ id: 'ingest', error: 'stream missing' }]);
    assert.match(md, /Smoke run/);
    assert.match(md, /\| ingest \| \*\*failed\*\* \| stream missing \|/);
    assert.match(md, /## Failures\n\n- `ingest`: stream missing/);
  });
});
