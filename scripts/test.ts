import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { bundleWorkflows } from './bundle-workflows';
import { integrationLanes } from './test-lanes';

/*
 * The one test command: lint, typecheck, unit tests, integration tests on real
 * Temporal and NATS servers in a temporary directory, then a check that no
 * process outlived the run. Prints "N passed, N failed" last.
 */

const ROOT = resolve(__dirname, '..');

interface PhaseResult {
  name: string;
  passed: number;
  failed: number;
  /** Wall time of the phase, so docs/testing.md can say how long each part takes. */
  seconds?: number;
}

/** Seconds since `startedAt` (a `Date.now()` value), one decimal. */
function secondsSince(startedAt: number): number {
  return Math.round((Date.now() - startedAt) / 100) / 10;
}

function listTests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (entry.endsWith('.test.ts')) out.push(relative(ROOT, p));
    }
  };
  try {
    walk(join(ROOT, dir));
  } catch {
    return [];
  }
  return out.sort();
}

/** Runs a command in its own process group; output streams through; returns the exit code and output. */
function run(argv: string[], env: NodeJS.ProcessEnv, groups: Set<number>, prefix?: string): Promise<{ code: number; output: string }> {
  return new Promise((ok) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? '', args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    if (child.pid) groups.add(child.pid);
    let output = '';
    // Two lanes write at once: whole lines, each tagged with its lane, keep them readable.
    const partial = { out: '', err: '' };
    const emit = (stream: NodeJS.WriteStream, key: 'out' | 'err', text: string): void => {
      if (!prefix) {
        stream.write(text);
        return;
      }
      const lines = (partial[key] + text).split('\n');
      partial[key] = lines.pop() ?? '';
      if (lines.length > 0) stream.write(lines.map((l) => `${prefix}${l}\n`).join(''));
    };
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      emit(process.stdout, 'out', d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      emit(process.stderr, 'err', d.toString());
    });
    child.on('close', (code) => {
      if (partial.out) emit(process.stdout, 'out', '\n');
      if (partial.err) emit(process.stderr, 'err', '\n');
      ok({ code: code ?? 1, output });
    });
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Group already gone.
  }
}

/** Counts from the node test runner's closing summary (`ℹ pass N`, `ℹ fail N`). */
function nodeTestCounts(output: string): { passed: number; failed: number } | undefined {
  const pass = [...output.matchAll(/^ℹ pass (\d+)$/gm)].pop();
  const fail = [...output.matchAll(/^ℹ fail (\d+)$/gm)].pop();
  const cancelled = [...output.matchAll(/^ℹ cancelled (\d+)$/gm)].pop();
  if (!pass || !fail) return undefined;
  return { passed: Number(pass[1]), failed: Number(fail[1]) + Number(cancelled?.[1] ?? 0) };
}

/** Processes whose command line, working directory or environment mention `marker`. */
function processesMentioning(marker: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // Process vanished or is not ours to read.
      }
      if (cmd.includes(marker) || environ.includes(marker) || cwd.startsWith(marker)) found.push({ pid, cmd });
    } catch {
      // Process ended while we looked.
    }
  }
  return found;
}

async function main(): Promise<number> {
  const only = process.argv.slice(2);
  const runRoot = mkdtempSync(join(tmpdir(), 'runbook-testrun-'));
  // PostgreSQL runs as its own account when the suite runs as root; it must be able to pass
  // through (not list) the run's directories to reach its state directory.
  chmodSync(runRoot, 0o711);
  const groups = new Set<number>();
  const cleanup = (): void => {
    for (const pid of groups) killGroup(pid);
    for (const { pid } of processesMentioning(runRoot)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });

  const results: PhaseResult[] = [];
  const tmp = join(runRoot, 'tmp');
  mkdirSync(tmp);
  // Every test stack lives under runRoot (via TMPDIR), which is how leaks are found afterwards.
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, RUNBOOK_TEST_RUN_ROOT: runRoot, NODE_ENV: 'test' };
  for (const key of Object.keys(env)) if (key.startsWith('RUNBOOK_') && key !== 'RUNBOOK_TEST_RUN_ROOT' && key !== 'RUNBOOK_CACHE_DIR') delete env[key];
  env.RUNBOOK_TEST_RUN_ROOT = runRoot;

  try {
    if (only.length === 0) {
      process.stdout.write('\n== lint ==\n');
      let startedAt = Date.now();
      // npm run lint is the one definition of lint: eslint, then the layer rules.
      const lint = await run(['npm', 'run', '--silent', 'lint'], env, groups);
      results.push({ name: 'lint', passed: lint.code === 0 ? 1 : 0, failed: lint.code === 0 ? 0 : 1, seconds: secondsSince(startedAt) });
      process.stdout.write('\n== typecheck ==\n');
      startedAt = Date.now();
      const tsc = await run([join(ROOT, 'node_modules', '.bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], env, groups);
      results.push({ name: 'typecheck', passed: tsc.code === 0 ? 1 : 0, failed: tsc.code === 0 ? 0 : 1, seconds: secondsSince(startedAt) });
    }

    process.stdout.write('\n== workflow bundle ==\n');
    const bundle = join(runRoot, 'workflow-bundle.js');
    await bundleWorkflows(bundle);
    env.RUNBOOK_TEST_WORKFLOW_BUNDLE = bundle;
    process.stdout.write(`bundled workflows to ${bundle}\n`);

    const unitFiles = only.length ? only.filter((f) => f.includes('/unit/')) : listTests('test/unit');
    const integrationFiles = only.length ? only.filter((f) => !f.includes('/unit/')) : listTests('test/integration');
    const nodeTest = (files: string[], extra: string[], prefix?: string): Promise<{ code: number; output: string }> =>
      run([process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', ...extra, ...files], env, groups, prefix);
    const tally = (name: string, startedAt: number, outs: { code: number; output: string }[]): void => {
      let passed = 0;
      let failed = 0;
      for (const res of outs) {
        const counts = nodeTestCounts(res.output) ?? { passed: 0, failed: 1 };
        if (res.code !== 0 && counts.failed === 0) counts.failed = 1;
        passed += counts.passed;
        failed += counts.failed;
      }
      results.push({ name, passed, failed, seconds: secondsSince(startedAt) });
    };
    if (unitFiles.length > 0) {
      process.stdout.write(`\n== unit tests (${unitFiles.length} files) ==\n`);
      const startedAt = Date.now();
      tally('unit', startedAt, [await nodeTest(unitFiles, [])]);
    }
    if (integrationFiles.length > 0) {
      const lanes = integrationLanes(integrationFiles).filter((lane) => lane.length > 0);
      process.stdout.write(`\n== integration tests (${integrationFiles.length} files in ${lanes.length} lane${lanes.length === 1 ? '' : 's'} side by side) ==\n`);
      const startedAt = Date.now();
      const extra = ['--test-concurrency=1', '--test-timeout=600000'];
      tally('integration', startedAt, await Promise.all(lanes.map((lane, i) => nodeTest(lane, extra, lanes.length > 1 ? `[lane ${i + 1}] ` : undefined))));
    }
  } finally {
    // Look before killing: anything still alive here was left behind by a test.
    const leaks = processesMentioning(runRoot);
    cleanup();
    if (leaks.length > 0) {
      process.stdout.write(`\nprocesses left behind (now killed): ${leaks.map((l) => `${l.pid} ${l.cmd}`).join('; ')}\n`);
      results.push({ name: 'no processes left behind', passed: 0, failed: 1 });
    } else {
      results.push({ name: 'no processes left behind', passed: 1, failed: 0 });
    }
    rmSync(runRoot, { recursive: true, force: true });
  }

  process.stdout.write('\n== summary ==\n');
  for (const r of results) process.stdout.write(`${r.name.padEnd(26)} ${`${r.passed} passed, ${r.failed} failed`.padEnd(22)}${r.seconds === undefined ? '' : ` ${r.seconds} s`}\n`);
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed, 0);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
