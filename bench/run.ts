import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { bundleWorkflows } from '../scripts/bundle-workflows';
import { pinnedVersions } from '../stack/toolchain';
import { BENCHMARKS } from './registry';
import { renderReport } from './render';
import type { BenchSection } from './report-types';

/*
 * npm run bench: runs every benchmark (or those named with --only) against its
 * own isolated local stack and writes the report. --smoke uses tiny sample
 * sizes to prove the harness works; its figures mean nothing.
 */

interface Args {
  smoke: boolean;
  only: string[] | undefined;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { smoke: false, only: undefined, out: resolve(__dirname, '..', 'docs', 'benchmarks.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') args.smoke = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') args.out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${a}; usage: bench/run.ts [--smoke] [--only ${BENCHMARKS.map((b) => b.id).join(',')}] [--out FILE]`);
  }
  const unknown = (args.only ?? []).filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // In-process workers log every start and stop at INFO; the report is what matters here.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const started = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'runbook-bench-'));
  const log = (line: string): void => void process.stdout.write(`[bench] ${line}\n`);
  const sections: BenchSection[] = [];
  const failures: { id: string; error: string }[] = [];
  try {
    const workflowBundle = join(root, 'workflow-bundle.js');
    log('bundling workflows');
    await bundleWorkflows(workflowBundle);
    for (const bench of BENCHMARKS) {
      if (args.only && !args.only.includes(bench.id)) continue;
      const workDir = join(root, bench.id);
      mkdirSync(workDir, { recursive: true });
      log(`${bench.id}: starting${args.smoke ? ' (smoke)' : ''}`);
      const t0 = Date.now();
      try {
        sections.push(await bench.run({ smoke: args.smoke, log: (l) => log(`${bench.id}: ${l}`), workDir, workflowBundle }));
        log(`${bench.id}: done in ${((Date.now() - t0) / 1_000).toFixed(0)} s`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failures.push({ id: bench.id, error });
        log(`${bench.id}: FAILED: ${err instanceof Error ? (err.stack ?? error) : error}`);
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const versions = pinnedVersions();
  const report = renderReport(
    {
      date: new Date(started).toISOString().replace(/\.\d+Z$/, 'Z'),
      cpu: cpus()[0]?.model ?? 'unknown CPU',
      cores: cpus().length,
      memoryGiB: totalmem() / 2 ** 30,
      node: process.versions.node,
      temporalCli: versions.TEMPORAL_CLI_VERSION ?? '?',
      natsServer: versions.NATS_SERVER_VERSION ?? '?',
      smoke: args.smoke,
      durationS: (Date.now() - started) / 1_000,
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    },
    sections,
    failures,
  );
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, report);
  log(`report written to ${args.out}`);
  if (failures.length > 0) {
    log(`${failures.length} benchmark(s) failed: ${failures.map((f) => f.id).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
