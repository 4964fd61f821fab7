import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, type Config } from '../../config/config';
import { createLogger } from '../../observability/logger';
import { clusterDefaultEnv, startClusterStack } from '../../stack/cluster-stack';
import { startLocalStack } from '../../stack/local-stack';
import { describeProcesses, liveComponents, stopRecordedProcesses, supervisorRunning } from '../../stack/recorded-processes';
import { DEFAULT_RESTART_POLICY } from '../../stack/restart-policy';
import { processAlive, readStackFile, type StackInfo } from '../../stack/stack-file';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { flagsToConfig, parseFlags, type CliCommand } from '../command';
import { CliError } from '../context';

const USAGE =
  'runbook up [--cluster] [--detach] [--state-dir DIR] [--postgres-port N] [--temporal-port N] [--temporal-ui-port N] [--temporal-http-port N] [--nats-port N] [--nats-monitor-port N] [--nats-cluster-port N] [--intake-port N] [--worker-metrics-port N] [--api-port N] [--namespace NS] [--log-level LEVEL]';

const OPTIONS = {
  cluster: { type: 'boolean' },
  detach: { type: 'boolean' },
  'postgres-port': { type: 'string' },
  'state-dir': { type: 'string' },
  'temporal-port': { type: 'string' },
  'temporal-ui-port': { type: 'string' },
  'temporal-http-port': { type: 'string' },
  'nats-port': { type: 'string' },
  'nats-monitor-port': { type: 'string' },
  'nats-cluster-port': { type: 'string' },
  'intake-port': { type: 'string' },
  'worker-metrics-port': { type: 'string' },
  'api-port': { type: 'string' },
  namespace: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/** The Alertmanager configuration that reaches this stack's receiver with its token file. */
export function alertmanagerSnippet(info: StackInfo): string[] {
  if (!info.intakeWebhookTokenFile) return [];
  return [
    'Alertmanager receiver (alertmanager.yml; the token file is readable by its owner only):',
    '  receivers:',
    '    - name: runbook',
    '      webhook_configs:',
    `        - url: ${info.intakeUrl}/alertmanager`,
    '          http_config:',
    '            authorization:',
    '              type: Bearer',
    `              credentials_file: ${info.intakeWebhookTokenFile}`,
    '',
  ];
}

/** The servers part of the banner: the cluster names each of its components and has no Web UI. */
function serverLines(info: StackInfo, stateFlag: string): string[] {
  if (info.kind !== 'cluster') {
    return [
      `  Temporal UI   ${info.temporalUiUrl ?? '(headless)'}  (namespace ${info.namespace})`,
      `  Temporal      ${info.temporalAddress}`,
      `  NATS          ${info.natsUrl}  (monitoring ${info.natsMonitorUrl})`,
      `  Intake        ${info.intakeUrl}/metrics, Alertmanager webhook ${info.intakeUrl}/alertmanager`,
      `  Worker        ${info.workerUrl}/metrics`,
    ];
  }
  const named = (prefix: string): [string, number | undefined][] =>
    Object.entries(info.components)
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, c]) => [name, c.port]);
  return [
    `  Temporal UI   none in the cluster stack; see incidents with: npx runbook incidents${stateFlag}, npx runbook show SERVICE/TARGET${stateFlag}`,
    `  Temporal      ${info.temporalAddress}  (namespace ${info.namespace}, server on PostgreSQL 127.0.0.1:${info.ports.postgres ?? ''})`,
    `  NATS          ${(info.natsUrls ?? [info.natsUrl]).join(', ')}  (monitoring ${info.natsMonitorUrl})`,
    ...named('intake-').map(([name, port]) => `  ${name.padEnd(13)} http://127.0.0.1:${port ?? ''}/metrics, Alertmanager webhook http://127.0.0.1:${port ?? ''}/alertmanager`),
    ...named('worker-').map(([name, port]) => `  ${name.padEnd(13)} http://127.0.0.1:${port ?? ''}/metrics`),
  ];
}

/** The lines printed once the stack is ready. */
export function readyBanner(info: StackInfo): string {
  const stateFlag = info.stateDir === resolve('.runbook') ? '' : ` --state-dir ${info.stateDir}`;
  return [
    '',
    info.kind === 'cluster' ? 'self-healing-runbooks is up (cluster stack)' : 'self-healing-runbooks is up',
    ...serverLines(info, stateFlag),
    ...(info.ports.api ? [`  Console       http://127.0.0.1:${info.ports.api}/  (sign in with a token from runbook token create)`, `  Approval API  http://127.0.0.1:${info.ports.api}/incidents  (OpenAPI at /openapi.json)`] : []),
    ...(info.rosterFile ? [`  Roster        ${info.rosterFile}  (who may approve and decide escalations)`] : []),
    ...(info.operatorTokenFile ? [`  Your token    ${info.operatorTokenFile}  (runbook approve, reject and decide use it)`] : []),
    `  State         ${info.stateDir}`,
    '',
    'Send a test fault:',
    `  npx runbook fault --service app --target primary --kind node_down --dry-run${stateFlag}`,
    `  npx runbook incidents${stateFlag}`,
    `  npx runbook show app/primary${stateFlag}`,
    '',
    ...alertmanagerSnippet(info),
  ].join('\n');
}

/**
 * Refuses to start over a running stack; stops what a crashed supervisor left
 * behind (rather than adopting it: a fresh start knows every process it owns).
 */
async function clearLeftovers(stateDir: string): Promise<void> {
  const existing = readStackFile(stateDir);
  if (!existing) return;
  if (existing.supervisorPid !== process.pid && supervisorRunning(existing)) {
    const kind = existing.kind === 'cluster' ? 'a cluster stack' : 'a stack';
    throw new CliError(`${kind} is already running from ${existing.stateDir} (pid ${existing.supervisorPid}); stop it with: runbook down (or give this one another --state-dir to run both side by side)`);
  }
  const left = liveComponents(existing);
  if (left.length === 0) return;
  process.stdout.write(`found a stack left behind in ${stateDir}: its supervisor (pid ${existing.supervisorPid}) is gone, ${describeProcesses(left)} still running; stopping them and starting afresh\n`);
  const { killed } = await stopRecordedProcesses(existing);
  process.stdout.write(`stopped ${left.length} leftover process${left.length === 1 ? '' : 'es'}${killed.length ? ` (${describeProcesses(killed)} needed SIGKILL)` : ''}\n`);
}

async function runForeground(config: Config, cluster: boolean): Promise<number> {
  await clearLeftovers(resolve(config.stateDir));
  const options = {
    log: (line: string) => process.stdout.write(`${line}\n`),
    restart: DEFAULT_RESTART_POLICY,
    logger: createLogger('stack', config.logLevel),
  };
  const stack = cluster ? await startClusterStack(config, options) : await startLocalStack(config, options);
  process.stdout.write(readyBanner(stack.info));
  process.stdout.write('Press Ctrl-C to stop. A component that dies is restarted; runbook status shows restarts.\n');
  await new Promise<void>((wake) => {
    process.once('SIGINT', () => wake());
    process.once('SIGTERM', () => wake());
  });
  process.stdout.write('stopping...\n');
  await stack.stop();
  process.stdout.write('stopped\n');
  return 0;
}

/** How long a detached start may take: the cluster's first start creates its databases and schemas. */
function readyTimeoutMs(cluster: boolean): number {
  return cluster ? 300_000 : 120_000;
}

async function runDetached(config: Config, args: string[], cluster: boolean): Promise<number> {
  const stateDir = resolve(config.stateDir);
  await clearLeftovers(stateDir);
  mkdirSync(join(stateDir, 'logs'), { recursive: true });
  const logFile = join(stateDir, 'logs', 'up.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'runbook'), 'up', ...args.filter((a) => a !== '--detach')], {
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? -1;
  try {
    await waitFor('the stack to become ready', readyTimeoutMs(cluster), () => {
      if (!processAlive(pid)) throw new Error('exited');
      const info = readStackFile(stateDir);
      return info?.supervisorPid === pid && info.ready;
    }, 200);
  } catch {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new CliError(`the stack did not start; last lines of ${logFile}:\n${tail}`, 1);
  }
  const info = readStackFile(stateDir);
  if (info) process.stdout.write(readyBanner(info));
  process.stdout.write(`Running in the background (pid ${pid}, log ${logFile}). Stop it with: npx runbook down${stateDir === resolve('.runbook') ? '' : ` --state-dir ${stateDir}`}\n`);
  return 0;
}

/**
 * `runbook up`: the embedded stack, or with `--cluster` the cluster stack
 * (see startClusterStack), in the foreground or detached. The cluster's
 * ports default to its own (clusterDefaultEnv) beneath flags and environment.
 */
export const upCommand: CliCommand = {
  name: 'up',
  summary: 'start Temporal, NATS, the worker and the intake locally (--cluster: on PostgreSQL, two of each)',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, OPTIONS, USAGE);
    const cluster = values.cluster === true;
    const config = loadConfig(flagsToConfig(values), cluster ? clusterDefaultEnv() : process.env);
    return values.detach ? runDetached(config, args, cluster) : runForeground(config, cluster);
  },
};
