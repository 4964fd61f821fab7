import { resolve } from 'node:path';
import { loadConfig, type Config } from '../../config/config';
import { temporalConnectOptions } from '../../config/temporal-connection';
import { stackHealth, type ComponentHealth } from '../../stack/health';
import { leadershipText, natsClusterView, streamLines, type NatsClusterView } from '../../stack/nats-leaders';
import { describeProcesses, liveComponents, supervisorRunning, type RecordedProcess } from '../../stack/recorded-processes';
import { readStackFile, type ComponentRecord, type StackInfo } from '../../stack/stack-file';
import { flagsToConfig, parseFlags, type CliCommand } from '../command';
import { temporalHttp } from '../context';

const USAGE = 'runbook status [--state-dir DIR] [--json]';

/** One component as status reports it: its health and what its supervisor recorded. */
type ComponentReport = ComponentHealth & Partial<Pick<ComponentRecord, 'state' | 'pid' | 'port' | 'restarts' | 'lastExit'>>;

function restartText(c: ComponentReport): string {
  if (!c.restarts) return '';
  const exit = c.lastExit ? `, last exit ${c.lastExit.signal ? `signal ${c.lastExit.signal}` : `code ${c.lastExit.code}`} at ${c.lastExit.at}` : '';
  return `  (restarts ${c.restarts}${exit})`;
}

/**
 * Health of each component; Temporal is checked over the HTTP API the stack
 * recorded (with the configured TLS and API key), so status never loads the
 * gRPC client, and over gRPC for a stack that recorded none.
 */
async function componentHealth(config: Config, info: StackInfo): Promise<ComponentHealth[]> {
  const temporal = { ...config, temporalAddress: info.temporalAddress, namespace: info.namespace, temporalHttpAddress: info.temporalHttpAddress };
  const http = await temporalHttp(temporal);
  try {
    return await stackHealth(info, http ? { http } : { grpc: await temporalConnectOptions(temporal) });
  } finally {
    http?.close();
  }
}

/**
 * `runbook status`: health, state and restarts of each component; exit 0
 * only when the supervisor runs and every component is healthy. With the
 * supervisor gone it names the components still running.
 */
export const statusCommand: CliCommand = {
  name: 'status',
  summary: 'health of each component of the local stack',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, { 'state-dir': { type: 'string' }, json: { type: 'boolean' } }, USAGE);
    const config = loadConfig(flagsToConfig(values));
    const stateDir = resolve(config.stateDir);
    const info = readStackFile(stateDir);
    const running = info !== undefined && supervisorRunning(info);
    const orphans: RecordedProcess[] = info && !running ? liveComponents(info) : [];
    const components: ComponentReport[] = info && running ? (await componentHealth(config, info)).map((h) => {
      const rec = info.components[h.name];
      return rec ? { ...h, state: rec.state, pid: rec.pid, ...(rec.port !== undefined ? { port: rec.port } : {}), restarts: rec.restarts, ...(rec.lastExit ? { lastExit: rec.lastExit } : {}) } : h;
    }) : [];
    const natsNodes = Object.entries(info?.components ?? {}).flatMap(([name, c]) => (c.health?.kind === 'nats' ? [{ name, monitorUrl: `http://127.0.0.1:${c.health.monitorPort}` }] : []));
    // A cluster's leaders move when a node is lost; which node leads what is what an operator asks next.
    const nats: NatsClusterView | undefined = running && natsNodes.length > 1 ? await natsClusterView(natsNodes) : undefined;
    // A cluster without a meta leader accepts no publish, however healthy each node says it is.
    const healthy = running && components.length > 0 && components.every((c) => c.healthy) && (natsNodes.length <= 1 || nats !== undefined);
    if (values.json) {
      const supervisor = info ? { pid: info.supervisorPid, running } : undefined;
      process.stdout.write(`${JSON.stringify({ running, healthy, stateDir, kind: info?.kind ?? 'embedded', supervisor, components, ...(nats ? { nats } : {}), orphans }, null, 2)}\n`);
    } else if (info && orphans.length > 0) {
      process.stdout.write(
        `supervisor not running (pid ${info.supervisorPid}); ${orphans.length} component${orphans.length === 1 ? '' : 's'} still running: ${describeProcesses(orphans)}; run \`runbook down\` to stop them\n`,
      );
    } else if (!running) {
      process.stdout.write(`not running (state directory ${stateDir}); start it with: runbook up\n`);
    } else {
      const width = Math.max(9, ...components.map((c) => c.name.length));
      for (const c of components) {
        const pid = c.pid !== undefined ? `pid ${c.pid}`.padEnd(11) : '';
        const leads = nats && info.components[c.name]?.health?.kind === 'nats' ? leadershipText(c.name, nats) : '';
        process.stdout.write(`${c.healthy ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)} ${(c.state ?? '').padEnd(10)} ${pid}${c.detail}${leads ? ` (${leads})` : ''}${restartText(c)}\n`);
      }
      if (natsNodes.length > 1) {
        const lines = nats ? streamLines(nats) : ['no node answers with a JetStream meta leader: the NATS cluster has no quorum'];
        for (const line of lines) process.stdout.write(`      ${'streams'.padEnd(width)} ${line}\n`);
      }
      if (info.temporalUiUrl) process.stdout.write(`      ui        ${''.padEnd(10)} ${info.temporalUiUrl}\n`);
    }
    return healthy ? 0 : 1;
  },
};
