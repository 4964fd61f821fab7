import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ENV, type Config } from '../config/config';
import { decisionKeyPath, ensureDecisionKey } from '../config/decision-key';
import { credentialsDir, ensureNatsCredentials } from '../config/nats-credentials';
import { createLogger, type Logger } from '../observability/logger';
import type { Respawn } from './component-supervisor';
import { componentTable } from './component-table';
import { componentHealthy } from './health';
import { ensureLocalRoster, type LocalRoster } from './local-roster';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { startNatsServer } from './nats-server';
import { operatorTokenLine, withOperatorToken, type OperatorToken } from './operator-token';
import { assertPortFree, freePorts } from './ports';
import { processStartTime } from './process-identity';
import type { RestartPolicy } from './restart-policy';
import { writeStackFile, stackFilePath, type StackInfo } from './stack-file';
import { startTemporalServer } from './temporal-server';
import { PROJECT_ROOT } from './toolchain';
import { waitFor } from './wait-for';
import { withWebhookCredential } from './webhook-token';

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
  /**
   * Restart a component that dies on its own after the stack is up, with
   * this policy; without one a death is only reported through onComponentExit.
   */
  restart?: RestartPolicy;
  /** Where restarts are logged. @default a "stack" logger on stderr */
  logger?: Logger;
  /**
   * Unless a roster is configured, write the state directory's roster (the
   * local operator in every group) and give it to the worker and API.
   * Private test and benchmark stacks turn it off: their decisions come from
   * made-up identities. @default true
   */
  localRoster?: boolean;
  /** Called when a component dies on its own (not during stop) and is not restarted. */
  onComponentExit?: (name: string, code: number | null) => void;
}

/** A running local stack. */
export interface LocalStack {
  info: StackInfo;
  /** The current process of each component; a restart replaces its entry. */
  processes: ManagedProcess[];
  /** Stops everything, newest first; safe to call twice. */
  stop(): Promise<void>;
}

/** Environment for our own processes, carrying the resolved configuration. */
export function componentEnv(config: Config): NodeJS.ProcessEnv {
  // Each component connects as its own role from the state directory; a credential meant for the caller must not leak into them.
  const inherited = { ...process.env };
  for (const key of [ENV.natsCreds, ENV.natsUser, ENV.natsPasswordFile]) delete inherited[key];
  return {
    ...inherited,
    [ENV.stateDir]: config.stateDir,
    [ENV.temporalAddress]: config.temporalAddress,
    [ENV.namespace]: config.namespace,
    [ENV.taskQueue]: config.taskQueue,
    [ENV.natsUrl]: config.natsUrl,
    ...(config.natsTlsCa ? { [ENV.natsTlsCa]: resolve(config.natsTlsCa) } : {}),
    ...(config.natsTlsCert ? { [ENV.natsTlsCert]: resolve(config.natsTlsCert) } : {}),
    ...(config.natsTlsKey ? { [ENV.natsTlsKey]: resolve(config.natsTlsKey) } : {}),
    [ENV.mode]: config.mode,
    ...(config.workflowBundle ? { [ENV.workflowBundle]: resolve(config.workflowBundle) } : {}),
    [ENV.runbooksDir]: resolve(config.runbooksDir),
    [ENV.logLevel]: config.logLevel,
    [ENV.intakePort]: String(config.intakePort),
    [ENV.workerMetricsPort]: String(config.workerMetricsPort),
    [ENV.apiPort]: String(config.apiPort),
    [ENV.dryRun]: String(config.dryRun),
    [ENV.servicesFile]: resolve(config.servicesFile),
    [ENV.backupsFile]: resolve(config.backupsFile),
    [ENV.replicationFile]: resolve(config.replicationFile),
    ...(config.rosterFile ? { [ENV.rosterFile]: resolve(config.rosterFile) } : {}),
    ...(config.tokensFile ? { [ENV.tokensFile]: resolve(config.tokensFile) } : {}),
    [ENV.intakeWebhookAuth]: config.intakeWebhookAuth,
    ...(config.intakeWebhookTokenFile ? { [ENV.intakeWebhookTokenFile]: resolve(config.intakeWebhookTokenFile) } : {}),
    ...(config.intakeWebhookBasicUser ? { [ENV.intakeWebhookBasicUser]: config.intakeWebhookBasicUser } : {}),
    ...(config.intakeWebhookBasicPasswordFile ? { [ENV.intakeWebhookBasicPasswordFile]: resolve(config.intakeWebhookBasicPasswordFile) } : {}),
    ...(config.intakeNakBaseMs !== undefined ? { [ENV.intakeNakBaseMs]: String(config.intakeNakBaseMs) } : {}),
    ...(config.intakeNakMaxMs !== undefined ? { [ENV.intakeNakMaxMs]: String(config.intakeNakMaxMs) } : {}),
    [ENV.intakeWebhookBurst]: String(config.intakeWebhookBurst),
    [ENV.intakeWebhookRatePerSecond]: String(config.intakeWebhookRatePerSecond),
    [ENV.apiAuthFailuresPerMinute]: String(config.apiAuthFailuresPerMinute),
    [ENV.decisionKeyFile]: resolve(decisionKeyPath(config)),
    [ENV.consoleUrl]: config.consoleUrl,
    ...(config.pagerdutyRoutingKeyFile ? { [ENV.pagerdutyRoutingKeyFile]: resolve(config.pagerdutyRoutingKeyFile) } : {}),
    [ENV.pagerdutyEventsUrl]: config.pagerdutyEventsUrl,
  };
}

/** What the start-up output says about the roster the worker and API check decisions against. */
export function rosterLine(config: Pick<Config, 'rosterFile'>, local: LocalRoster | undefined): string {
  if (!local) return `roster ${resolve(config.rosterFile ?? '')} (${ENV.rosterFile})`;
  if (!local.created) return `roster ${local.file} (kept as it is; groups ${local.groups.join(', ')})`;
  return `wrote roster ${local.file}: ${local.operator ?? ''} may approve and decide escalations in ${local.groups.join(', ')}; edit it to name your team (it is never overwritten)`;
}

/**
 * The state directory's roster, receiver credential, operator token and
 * decision key, made once and reused: what every stack gives its worker,
 * intake and API. Returns the configuration that points at them.
 */
export async function prepareStackCredentials(
  given: Config,
  stateDir: string,
  opts: { log: (line: string) => void; localRoster?: boolean },
): Promise<{ config: Config; operator?: OperatorToken }> {
  const local = given.rosterFile || opts.localRoster === false ? undefined : await ensureLocalRoster(stateDir, resolve(given.runbooksDir));
  const rostered = withWebhookCredential(local ? { ...given, rosterFile: local.file } : given, stateDir);
  if (rostered.rosterFile) opts.log(rosterLine(rostered, local));
  // Same switch as the roster: private test stacks bring their own identities and tokens.
  const { config, operator } = opts.localRoster === false ? { config: rostered, operator: undefined } : await withOperatorToken(rostered, stateDir);
  if (operator) opts.log(operatorTokenLine(operator));
  // The API signs decisions and the worker verifies them with this key; both read it at start.
  ensureDecisionKey(decisionKeyPath({ ...config, stateDir }));
  return { config, operator };
}

/**
 * Runs `workers/provision.ts` (as the NATS admin user) to completion: the
 * streams, buckets and consumers exist before any component uses them.
 */
export async function provisionNats(env: NodeJS.ProcessEnv, stateDir: string): Promise<void> {
  const proc = startManagedProcess({ name: 'nats-provision', argv: nodeEntryArgv('workers/provision.ts'), env, logFile: join(stateDir, 'logs', 'nats-provision.log') });
  const { code, signal } = await proc.exited;
  if (code !== 0) throw new Error(`provisioning NATS streams and buckets failed (${signal ?? `exit ${code}`}); see ${proc.logFile}`);
}

/** A free port for Temporal's HTTP API that none of the stack's other servers is about to bind. */
async function freeHttpPort(taken: readonly number[]): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const [port] = await freePorts(1);
    if (port !== undefined && !taken.includes(port)) return port;
  }
  throw new Error('could not find a free port for the Temporal HTTP API');
}

/** argv that runs one of our TypeScript entry points. */
export function nodeEntryArgv(entry: string): string[] {
  return [process.execPath, '--import', 'tsx', join(PROJECT_ROOT, entry)];
}

/**
 * Starts Temporal and NATS (in parallel), then the worker, intake and API, and
 * resolves once every component is healthy; stack.json names each process
 * from the moment it exists. On any failure during start-up it stops what it
 * started and rethrows. Once up, a component that dies is restarted when
 * `opts.restart` is given (see superviseComponent). Unless a receiver
 * credential is configured (or turned off), the intake gets the state
 * directory's generated bearer token (see ensureWebhookToken); unless a
 * roster is configured, the worker and API get the state directory's roster
 * with the local operator in every group (see ensureLocalRoster).
 */
export async function startLocalStack(given: Config, opts: LocalStackOptions = {}): Promise<LocalStack> {
  const log = opts.log ?? (() => undefined);
  const logger = opts.logger ?? createLogger('stack', given.logLevel);
  const stateDir = resolve(given.stateDir);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const { config, operator } = await prepareStackCredentials(given, stateDir, { log, ...(opts.localRoster !== undefined ? { localRoster: opts.localRoster } : {}) });
  rmSync(stackFilePath(stateDir), { force: true });
  // One password per role, made once; the server config gets their bcrypt hashes.
  const natsUsers = ensureNatsCredentials(credentialsDir(stateDir));

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

  // A free port unless one is configured: stacks started side by side (tests, benchmarks) never share it.
  const temporalHttpPort = config.temporalHttpPort ?? (await freeHttpPort(wanted.map(([port]) => port)));
  if (config.temporalHttpPort !== undefined) await assertPortFree(temporalHttpPort, 'Temporal HTTP API', '--temporal-http-port');

  const supervisorStartTime = processStartTime(process.pid);
  const info: StackInfo = {
    supervisorPid: process.pid,
    ...(supervisorStartTime ? { supervisorStartTime } : {}),
    ready: false,
    startedAt: new Date().toISOString(),
    stateDir,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    temporalAddress: config.temporalAddress,
    ...(opts.headless ? {} : { temporalUiUrl: `http://127.0.0.1:${config.temporalUiPort}` }),
    temporalHttpAddress: `127.0.0.1:${temporalHttpPort}`,
    natsUrl: config.natsUrl,
    natsMonitorUrl: `http://127.0.0.1:${config.natsMonitorPort}`,
    intakeUrl: `http://127.0.0.1:${config.intakePort}`,
    ...(config.intakeWebhookTokenFile ? { intakeWebhookTokenFile: resolve(config.intakeWebhookTokenFile) } : {}),
    workerUrl: `http://127.0.0.1:${config.workerMetricsPort}`,
    ...(config.rosterFile ? { rosterFile: resolve(config.rosterFile) } : {}),
    ...(operator ? { operatorTokenFile: operator.tokenFile } : {}),
    ports: {
      temporal: config.temporalPort,
      temporalUi: config.temporalUiPort,
      temporalHttp: temporalHttpPort,
      nats: config.natsPort,
      natsMonitor: config.natsMonitorPort,
      intake: config.intakePort,
      worker: config.workerMetricsPort,
      ...(withApi ? { api: config.apiPort } : {}),
    },
    components: {},
  };
  writeStackFile(info);

  // Slots in the order status lists them; the cluster stack keeps its table the same way.
  const table = componentTable(info, ['temporal', 'nats', 'worker', 'intake', 'api'].map((name) => ({ name })));
  const { processes, place } = table;
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    await table.stop();
  };

  const env = componentEnv({ ...config, stateDir });
  const ours =
    (name: string, entry: string): Respawn =>
    async (onSpawn) => {
      const proc = startManagedProcess({ name, argv: nodeEntryArgv(entry), env, logFile: join(stateDir, 'logs', `${name}.log`) });
      onSpawn(proc);
      try {
        await waitFor(`${name} to become healthy`, 60_000, async () => {
          if (!proc.isRunning()) throw new Error(`${name} exited during start-up; see ${proc.logFile}`);
          return (await componentHealthy(name, info)).healthy;
        });
      } catch (err) {
        await proc.stop();
        throw err;
      }
      return proc;
    };
  const servers: [string, Respawn][] = [
    ['temporal', (onSpawn) => startTemporalServer({ stateDir, port: config.temporalPort, uiPort: config.temporalUiPort, httpPort: temporalHttpPort, namespace: config.namespace, headless: opts.headless ?? false, onSpawn })],
    ['nats', (onSpawn) => startNatsServer({ stateDir, port: config.natsPort, monitorPort: config.natsMonitorPort, users: natsUsers, onSpawn })],
  ];
  const components: [string, Respawn][] = [];
  if (opts.worker !== false) components.push(['worker', ours('worker', 'workers/worker.ts')]);
  if (opts.intake !== false) components.push(['intake', ours('intake', 'workers/intake.ts')]);
  if (withApi) components.push(['api', ours('api', 'workers/api.ts')]);
  const startAll = async (group: [string, Respawn][]): Promise<void> => {
    const results = await Promise.allSettled(group.map(([, start]) => start((proc) => place(proc))));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  };

  try {
    log(`starting Temporal (127.0.0.1:${config.temporalPort}) and NATS (127.0.0.1:${config.natsPort}) in ${stateDir}`);
    await startAll(servers);
    await provisionNats(env, stateDir);
    if (components.length > 0) log(`starting ${components.map(([name]) => (name === 'api' ? 'the approval API' : `the ${name}`)).join(', ')}`);
    await startAll(components);
  } catch (err) {
    await stop();
    throw err;
  }

  for (const [name, respawn] of [...servers, ...components]) {
    const first = processes.find((p) => p.name === name);
    if (!first) continue;
    if (opts.restart) {
      table.supervise(first, respawn, opts.restart, logger);
    } else {
      place(first, { name, state: 'running', proc: first, restarts: 0 });
      void first.exited.then(({ code }) => {
        if (!stopping) opts.onComponentExit?.(name, code);
      });
    }
  }
  info.ready = true;
  writeStackFile(info);
  return { info, processes, stop };
}
