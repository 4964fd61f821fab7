import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ENV, loadConfig } from '../config/config';
import { connectNats } from '../config/nats-connect';
import { DEFAULT_BCRYPT_COST } from '../config/nats-credentials';
import { readStackFile } from '../stack/stack-file';
import { freeStackPortEnv } from '../stack/free-stack-ports';
import { PROJECT_ROOT } from '../stack/toolchain';
import { waitFor } from '../stack/wait-for';
import { BENCH_KIND, BENCH_SERVICE, runbookHead, writeRunbookDir } from './fixtures';
import { formatMs, formatRatio, percentile } from './stats';
import type { BenchContext, BenchRow, BenchSection } from './report-types';

/*
 * Wall time of `runbook` commands as a user runs them (`node bin/runbook …`,
 * a new process each time) against a running stack, beside the floor of a
 * bare `node -e 0` timed in turn with each run, so drift in the machine's
 * speed falls on both.
 */

/** The target of every row: a command within three bare Node start-ups. */
const TARGET_RATIO = 3;

const RUNBOOK = join(PROJECT_ROOT, 'bin', 'runbook');

/** Wall milliseconds of one process run to its exit; throws when it fails. */
function timedRun(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  const [cmd, ...args] = argv;
  const t0 = process.hrtime.bigint();
  const res = spawnSync(cmd ?? '', args, { env, cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`${argv.slice(1).join(' ')} exited ${res.status ?? res.signal}: ${res.stderr.toString().slice(0, 500)}`);
  return ms;
}

/** One warm-up, then `n` pairs (ours, then the floor); medians of each and of the pair-by-pair ratios. */
function pairedRuns(argv: readonly string[], env: NodeJS.ProcessEnv, n: number): { ours: number; floor: number; ratio: number } {
  const floorArgv = [process.execPath, '-e', '0'];
  timedRun(argv, env);
  timedRun(floorArgv, env);
  const ours: number[] = [];
  const floor: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = timedRun(argv, env);
    const b = timedRun(floorArgv, env);
    ours.push(a);
    floor.push(b);
    ratios.push(a / b);
  }
  const median = (xs: number[]): number => percentile([...xs].sort((x, y) => x - y), 0.5);
  return { ours: median(ours), floor: median(floor), ratio: median(ratios) };
}

/**
 * Median time of `n` NATS connects as the operator role (after one warm-up),
 * in this process, to the stack `env` names: what `runbook audit` and `fault`
 * wait on besides their start-up, a bcrypt check of the password on the server.
 */
async function natsConnectMs(env: NodeJS.ProcessEnv, n: number): Promise<number> {
  const base = loadConfig({}, env);
  const natsUrl = readStackFile(base.stateDir)?.natsUrl;
  const config = natsUrl === undefined ? base : loadConfig({}, { ...env, [ENV.natsUrl]: natsUrl });
  const times: number[] = [];
  for (let i = 0; i <= n; i++) {
    const t0 = process.hrtime.bigint();
    const nc = await connectNats(config, 'operator', { timeout: 3_000, name: 'bench-cli-connect' });
    if (i > 0) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await nc.close();
  }
  return percentile(times.sort((x, y) => x - y), 0.5);
}

/** `runbook` commands timed against a stack started with `runbook up --detach`, each beside `node -e 0`. */
export async function cliLatency(ctx: BenchContext): Promise<BenchSection> {
  const n = ctx.smoke ? 1 : 5;
  const holdRunbook = [...runbookHead('bench-hold'), '  - id: hold', '    action:', '      kind: wait', '      duration: 1h'].join('\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.stateDir]: join(ctx.workDir, 'state'),
    ...(await freeStackPortEnv()),
    [ENV.runbooksDir]: writeRunbookDir(join(ctx.workDir, 'runbooks'), `${holdRunbook}\n`),
    [ENV.workflowBundle]: ctx.workflowBundle,
    RUNBOOK_CLI_FROM_SOURCE: '',
  };
  const cli = (...args: string[]): string[] => [process.execPath, RUNBOOK, ...args];
  ctx.log('starting a stack with runbook up --detach');
  timedRun(cli('up', '--detach'), env);
  try {
    const target = 'cli-bench-1';
    const incident = `incident/${BENCH_SERVICE}/${target}`;
    const fault = cli('fault', '--service', BENCH_SERVICE, '--target', target, '--kind', BENCH_KIND);
    timedRun(fault, env);
    await waitFor('the incident to wait in its hold step', 60_000, () => {
      const shown = spawnSync(process.execPath, [RUNBOOK, 'show', incident, '--json'], { env, cwd: PROJECT_ROOT });
      return shown.status === 0 && (JSON.parse(shown.stdout.toString()) as { currentStep?: string }).currentStep === 'hold';
    });
    const commands: { label: string; argv: string[]; env?: NodeJS.ProcessEnv; target?: boolean }[] = [
      { label: 'runbook --help', argv: cli('--help') },
      { label: 'runbook status', argv: cli('status') },
      { label: 'runbook incidents', argv: cli('incidents') },
      { label: 'runbook show', argv: cli('show', incident) },
      { label: 'runbook audit', argv: cli('audit', incident) },
      // A repeat of the same fault: the intake folds it into the open incident.
      { label: 'runbook fault', argv: fault },
      { label: 'runbook --help, from source (tsx)', argv: cli('--help'), env: { ...env, RUNBOOK_CLI_FROM_SOURCE: '1' }, target: false },
      // What a Temporal read through the SDK would pay before it connects (RUNBOOK_TEMPORAL_HTTP=false): the client and its protobuf definitions.
      { label: "node -e \"require('@temporalio/client')\"", argv: [process.execPath, '-e', "require('@temporalio/client')"], target: false },
    ];
    const rows: BenchRow[] = [];
    for (const c of commands) {
      ctx.log(c.label);
      const r = pairedRuns(c.argv, c.env ?? env, n);
      const hasTarget = c.target !== false;
      rows.push({
        metric: `${c.label}, wall p50`,
        value: formatMs(r.ours),
        floor: `node -e 0 ${formatMs(r.floor)}`,
        ratio: r.ratio,
        ...(hasTarget ? { target: `≤ ${TARGET_RATIO}× floor`, met: r.ratio <= TARGET_RATIO } : {}),
      });
    }
    const connectMs = await natsConnectMs(env, n);
    const missed = rows.filter((r) => r.met === false);
    const notes = [
      `\`runbook audit\` and \`runbook fault\` wait on one NATS connect besides their start-up: ${formatMs(connectMs)} here (in-process, as the operator role, median of ${n}), a bcrypt check of the password (cost ${DEFAULT_BCRYPT_COST}) on the server; audit reads Temporal and loads its record's modules meanwhile.`,
    ];
    if (missed.length > 0) notes.unshift(`Above ${formatRatio(TARGET_RATIO)}: ${missed.map((r) => r.metric).join('; ')}.`);
    return {
      id: 'cli-latency',
      title: 'CLI latency',
      method:
        `Each command runs as a user runs it, \`node bin/runbook …\` (the pre-built bundle of scripts/bundle-cli.ts with its V8 code cache), against a stack started with \`runbook up --detach\` that holds one incident waiting in a one-hour step. ` +
        `One warm-up, then ${n} runs each followed by a bare \`node -e 0\` (the floor: starting Node itself); wall time from spawn to exit. Ours and the floor are medians; the ratio is the median of the ${n} pair-by-pair ratios. ` +
        'Two rows without a target: the same `--help` through tsx, as development runs it with RUNBOOK_CLI_FROM_SOURCE=1, and a process that only loads `@temporalio/client`, what the read commands avoid by reading Temporal over its HTTP API (`incidents`, `status`) or the lean gRPC reader (`show`, `audit`).',
      rows,
      notes,
    };
  } finally {
    spawnSync(process.execPath, [RUNBOOK, 'down'], { env, cwd: PROJECT_ROOT, stdio: 'ignore' });
  }
}
