import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { bundleWorkflows } from '../scripts/bundle-workflows';
import { pinnedVersions, postgresBinDir } from '../stack/toolchain';
import { embeddedStacks, type StackKind, type StackProvider } from './bench-stack';
import { clusterStacks } from './cluster-bench-stack';
import { BENCHMARKS, benchmarksFor } from './registry';
import { renderReport } from './render';
import type { BenchSection } from './report-types';

/*
 * npm run bench: runs every benchmark (or those named with --only) against its
 * own isolated embedded stack and writes the report; --cluster runs them on
 * private cluster stacks as well, plus the cluster-only ones (worker scaling).
 * --smoke uses tiny sample sizes to prove the harness works; its figures
 * mean nothing.
 */

interface Args {
  smoke: boolean;
  cluster: boolean;
  only: string[] | undefined;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { smoke: false, cluster: false, only: undefined, out: resolve(__dirname, '..', 'docs', 'benchmarks.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') args.smoke = true;
    else if (a === '--cluster') args.cluster = true;
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--out') args.out = resolve(argv[++i] ?? '');
    else throw new Error(`unknown argument ${a}; usage: bench/run.ts [--smoke] [--cluster] [--only ${BENCHMARKS.map((b) => b.id).join(',')}] [--out FILE]`);
  }
  const unknown = (args.only ?? []).filter((id) => !BENCHMARKS.some((b) => b.id === id));
  if (unknown.length > 0) throw new Error(`--only: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.id).join(', ')}`);
  const clusterOnly = (args.only ?? []).filter((id) => !args.cluster && !BENCHMARKS.find((b) => b.id === id)?.stacks.includes('embedded'));
  if (clusterOnly.length > 0) throw new Error(`--only: ${clusterOnly.join(', ')} runs on the cluster stack only; add --cluster`);
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
  const stackLines: { kind: StackKind; engines: string }[] = [];
  try {
    const workflowBundle = join(root, 'workflow-bundle.js');
    log('bundling workflows');
    await bundleWorkflows(workflowBundle);
    const kinds: StackKind[] = args.cluster ? ['embedded', 'cluster'] : ['embedded'];
    const providers: StackProvider[] = kinds.map((kind) => (kind === 'embedded' ? embeddedStacks : clusterStacks)({ workflowBundle }));
    stackLines.push(...providers.map((p) => ({ kind: p.kind, engines: p.engines })));
    // Benchmark by benchmark, each on every stack in turn, so the report sets a figure beside its cluster counterpart.
    for (const bench of BENCHMARKS) {
      for (const stacks of providers) {
        if (!benchmarksFor(stacks.kind, args.only).includes(bench)) continue;
        const id = stacks.kind === 'embedded' ? bench.id : `${bench.id} (${stacks.kind})`;
        const workDir = join(root, stacks.kind, bench.id);
        mkdirSync(workDir, { recursive: true });
        log(`${id}: starting${args.smoke ? ' (smoke)' : ''}`);
        const t0 = Date.now();
        try {
          const section = await bench.run({ smoke: args.smoke, log: (l) => log(`${id}: ${l}`), workDir, workflowBundle, stacks });
          sections.push({ ...section, stack: stacks.kind });
          log(`${id}: done in ${((Date.now() - t0) / 1_000).toFixed(0)} s`);
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          failures.push({ id, error });
          log(`${id}: FAILED: ${err instanceof Error ? (err.stack ?? error) : error}`);
        }
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
      ...(args.cluster ? { temporalServer: versions.TEMPORAL_SERVER_VERSION ?? '?', postgres: postgresVersion() } : {}),
      stacks: stackLines,
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
    // Repeated last, so the tail of the output a caller keeps says why.
    log(`${failures.length} benchmark(s) failed: ${failures.map((f) => `${f.id}: ${f.error}`).join('; ')}`);
    process.exitCode = 1;
  }
}

/** The PostgreSQL the cluster runs, e.g. "15.14"; "?" when it cannot be asked. */
function postgresVersion(): string {
  try {
    return /(\d+(\.\d+)*)/.exec(execFileSync(join(postgresBinDir(), 'postgres'), ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
