import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchmarksFor } from '../../bench/registry';
import { PROJECT_ROOT } from '../../stack/toolchain';

/** Runs `npm run bench -- --smoke [extra…]` the way a user would, minus setup, and returns its exit code and output. */
function runBenchSmoke(out: string, extra: string[] = []): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const argv = ['--import', 'tsx', join(PROJECT_ROOT, 'bench', 'run.ts'), '--smoke', ...extra, '--out', out];
    const child = spawn(process.execPath, argv, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The report's section titles (not the summary), each checked to hold a table with at least one measured row. */
function measuredSections(md: string): string[] {
  assert.match(md, /Smoke run/);
  assert.match(md, /\| benchmark \| metric \| ours \| floor \| ratio \| target \| met \|/);
  assert.doesNotMatch(md, /\*\*failed\*\*/);
  const sections = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1] ?? '').filter((t) => t !== 'Results');
  // Each section has a table with at least one measured row: a value, and a floor or a dash.
  for (const title of sections) {
    const body = md.split(`## ${title}\n`)[1]?.split('\n## ')[0] ?? '';
    const rows = body.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| metric') && !l.startsWith('|---'));
    assert.ok(rows.length > 0, `${title} has rows`);
    for (const row of rows) assert.match(row, /^\| [^|]+ \| [^|—]*\d[^|]* \|/, `${title}: a measured value in "${row}"`);
  }
  return sections;
}

test('the benchmark harness runs every benchmark in smoke mode and writes the results table', { timeout: 15 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-bench-smoke-'));
  try {
    const out = join(dir, 'benchmarks.md');
    const run = await runBenchSmoke(out);
    assert.equal(run.code, 0, `bench --smoke failed:\n${run.output.slice(-4_000)}`);
    const sections = measuredSections(readFileSync(out, 'utf8'));
    assert.equal(sections.length, benchmarksFor('embedded').length, `one section per benchmark, got: ${sections.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with --cluster the same benchmark also runs on a private cluster, and worker scaling reports speed-ups against one worker', { timeout: 15 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runbook-bench-smoke-'));
  try {
    const out = join(dir, 'benchmarks.md');
    const run = await runBenchSmoke(out, ['--cluster', '--only', 'event-to-start,worker-scaling']);
    assert.equal(run.code, 0, `bench --smoke --cluster failed:\n${run.output.slice(-4_000)}`);
    const md = readFileSync(out, 'utf8');
    assert.deepEqual(measuredSections(md), ['Event → workflow started (embedded)', 'Event → workflow started (cluster)', 'Worker scaling (cluster)']);
    assert.match(md, /^\| cluster stack \| Temporal server on PostgreSQL .*3 nats-server nodes/m);
    assert.match(md, /\| incidents\/s, 1 worker \| [\d.]+ incidents\/s \| [\d.]+ incidents\/s \(1 worker\) \| 1\.00× speed-up \|/);
    assert.match(md, /\| incidents\/s, 2 workers \| [\d.]+ incidents\/s \| [\d.]+ incidents\/s \(1 worker\) \| [\d.]+× speed-up \|/);
    assert.match(md, /machine CPU \d+ % busy of \d+ cores/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
