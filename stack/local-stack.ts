import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV, type Config } from '../config/config';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { startNatsServer } from './nats-server';
import { assertPortFree } from './ports';
import { writeStackFile, stackFilePath, type StackInfo } from './stack-file';
import { startTemporalServer } from './temporal-server';
import { PROJECT_ROOT } from './toolchain';
import { waitFor } from './wait-for';
import { componentHealthy } from './health';

/** Which parts of the stack to run. */
export interface LocalStackOptions {
  worker?: boolean;
  intake?: boolean;
  /** The approval API; by default it runs whenever the worker does. */
  api?: boolean;
  /** Skip the Temporal Web UI (tests). */
  headless?: boolean;
  /** Progress lines for the user. */
  log?: (line: string) => void;
  /** Called when a component dies on its own (not during stop). */
  onComponentExit?: (name: string, code: number | null) => void;
}

/** A running local stack. */
export interface LocalStack {
  info: StackInfo;
  processes: ManagedProcess[];
  /** Stops everything, newest first; safe to call twice. */
  stop(): Promise<void>;
}

/** Environment for our own processes, carrying the resolved configuration. */
export function componentEnv(config: Config): NodeJS.ProcessEnv {
  return {
    ...process.env,
    [ENV.stateDir]: config.stateDir,
    [ENV.temporalAddress]: config.temporalAddress,
    [ENV.namespace]: config.namespace,
    [ENV.taskQueue]: config.taskQueue,
    [ENV.natsUrl]: config.natsUrl,
    [ENV.mode]: config.mode,
    ...(config.workflowBundle ? { [ENV.workflowBundle]: resolve(config.workflowBundle) } : {}),
    [ENV.runbooksDir]: resolve(config.runbooksDir),
    [ENV.logLevel]: config.logLevel,
    [ENV.intakePort]: String(config.intakePort),
    [ENV.workerMetricsPort]: String(config.workerMetricsPort),
    [ENV.apiPort]: String(config.apiPort),
    [ENV.dryRun]: String(config.dryRun),
    [ENV.servicesFile]: resolve(config.servicesFile),
    ...(config.rosterFile ? { [ENV.rosterFile]: resolve(config.rosterFile) } : {}),
    ...(config.tokensFile ? { [ENV.tokensFile]: resolve(config.tokensFile) } : {}),
  };
}

/** argv that runs one of our TypeScript entry points. */
export function nodeEntryArgv(entry: string): string[] {
  return [process.execPath, '--import', 'tsx', join(PROJECT_ROOT, entry)];
}

/**
 * Starts Temporal and NATS (in parallel), then the worker and intake, and
 * resolves once every component is healthy. On any failure it stops what it
 * started and rethrows.
 */
export async function startLocalStack(config: Config, opts: LocalStackOptions = {}): Promise<LocalStack> {
  const log = opts.log ?? (() => undefined);
  const stateDir = resolve(config.stateDir);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  rmSync(stackFilePath(stateDir), { force: true });

  const wanted: [number, string, string][] = [
    [config.temporalPort, 'Temporal frontend', '--temporal-port'],
    [config.natsPort, 'NATS client', '--nats-port'],
    [config.natsMonitorPort, 'NATS monitoring', '--nats-monitor-port'],
  ];
  if (!opts.headless) wanted.push([config.temporalUiPort, 'Temporal Web UI', '--temporal-ui-port']);
  if (opts.intake !== false) wanted.push([config.intakePort, 'intake HTTP (metrics, Alertmanager)', '--intake-port']);
  if (opts.worker !== false) wanted.push([config.workerMetricsPort, 'worker metrics', '--worker-metrics-port']);
  const withApi = opts.api ?? opts.worker !== false;
  if (withApi) wanted.push([config.apiPort, 'approval API', '--api-port']);
  for (const [port, purpose, flag] of wanted) await assertPortFree(port, purpose, flag);

  const processes: ManagedProcess[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const proc of [...processes].reverse()) await proc.stop();
  };
  const watch = (proc: ManagedProcess): void => {
    void proc.exited.then(({ code }) => {
      if (!stopping) opts.onComponentExit?.(proc.name, code);
    });
  };

  try {
    log(`starting Temporal (127.0.0.1:${config.temporalPort}) and NATS (127.0.0.1:${config.natsPort}) in ${stateDir}`);
    const servers = await Promise.allSettled([
      startTemporalServer({
        stateDir,
        port: config.temporalPort,
        uiPort: config.temporalUiPort,
        namespace: config.namespace,
        headless: opts.headless ?? false,
      }),
      startNatsServer({ stateDir, port: config.natsPort, monitorPort: config.natsMonitorPort }),
    ]);
    for (const s of servers) if (s.status === 'fulfilled') processes.push(s.value);
    for (const s of servers) if (s.status === 'rejected') throw s.reason;
    processes.forEach(watch);

    const env = componentEnv({ ...config, stateDir });
    if (opts.worker !== false) {
      log('starting the runbook worker');
      const worker = startManagedProcess({ name: 'worker', argv: nodeEntryArgv('workers/worker.ts'), env, logFile: join(stateDir, 'logs', 'worker.log') });
      processes.push(worker);
      watch(worker);
    }
    if (opts.intake !== false) {
      log('starting the intake');
      const intake = startManagedProcess({ name: 'intake', argv: nodeEntryArgv('workers/intake.ts'), env, logFile: join(stateDir, 'logs', 'intake.log') });
      processes.push(intake);
      watch(intake);
    }
    if (withApi) {
      log('starting the approval API');
      const api = startManagedProcess({ name: 'api', argv: nodeEntryArgv('workers/api.ts'), env, logFile: join(stateDir, 'logs', 'api.log') });
      processes.push(api);
      watch(api);
    }

    const info: StackInfo = {
      supervisorPid: process.pid,
      ready: false,
      startedAt: new Date().toISOString(),
      stateDir,
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      temporalAddress: config.temporalAddress,
      ...(opts.headless ? {} : { temporalUiUrl: `http://127.0.0.1:${config.temporalUiPort}` }),
      natsUrl: config.natsUrl,
      natsMonitorUrl: `http://127.0.0.1:${config.natsMonitorPort}`,
      intakeUrl: `http://127.0.0.1:${config.intakePort}`,
      workerUrl: `http://127.0.0.1:${config.workerMetricsPort}`,
      ports: {
        temporal: config.temporalPort,
        temporalUi: config.temporalUiPort,
        nats: config.natsPort,
        natsMonitor: config.natsMonitorPort,
        intake: config.intakePort,
        worker: config.workerMetricsPort,
        ...(withApi ? { api: config.apiPort } : {}),
      },
      components: Object.fromEntries(processes.map((p) => [p.name, { pid: p.pid, logFile: p.logFile }])),
    };
    writeStackFile(info);

    for (const proc of processes.filter((p) => p.name === 'worker' || p.name === 'intake' || p.name === 'api')) {
      await waitFor(`${proc.name} to become healthy`, 60_000, async () => {
        if (!proc.isRunning()) throw new Error(`${proc.name} exited during start-up; see ${proc.logFile}`);
        return (await componentHealthy(proc.name, info)).healthy;
      });
    }
    info.ready = true;
    writeStackFile(info);
    return { info, processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
