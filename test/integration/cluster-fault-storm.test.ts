import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, type Config } from '../../config/config';
import { FAULTS_STREAM } from '../../intake/streams';
import { createLogger } from '../../observability/logger';
import { clusterPortsAt, MAX_CLUSTER_PORT } from '../../stack/cluster-ports';
import { NATS_NODES, startClusterStack, type ClusterStack } from '../../stack/cluster-stack';
import { assertPortFree, freePorts, retryOnPortClash } from '../../stack/ports';
import { stormWorkflowBundle, writeStormFiles, type StormFiles } from '../helpers/storm-runbook';
import { runStorm, STORM_NAK, STORM_RESTART_POLICY, type StormFault, type StormProbe } from '../helpers/storm-scenario';
import { assertStormHeld } from '../helpers/storm-tally';

/*
 * The storm on the cluster stack: the NATS node leading the fault stream, one
 * worker, one intake, the Temporal server and PostgreSQL, each SIGKILLed in
 * turn and restarted by the stack's supervisor, while the other replicas carry
 * on. The same scenario runs on the embedded stack in
 * fault-injection-storm.test.ts; docs/reliability.md sets the two side by side.
 */

/** The node that leads the fault stream now: the one whose loss forces an election. */
async function faultStreamLeader({ jsm, info }: StormProbe): Promise<string> {
  const leader = (await jsm.streams.info(FAULTS_STREAM)).cluster?.leader;
  if (leader && info.components[leader]) return leader;
  throw new Error(`the ${FAULTS_STREAM} leader ${String(leader)} is none of the components ${Object.keys(info.components).join(', ')}`);
}

/**
 * Kills the fault stream's leader; back once the stream has a leader again
 * and, with the killed node restarted, every replica is current. The kill
 * forces an election either way; the restarted node may win it (it can be
 * back within a second), so whoever leads afterwards is only reported.
 */
function streamLeaderKill(): StormFault {
  let killed: string | undefined;
  let elected: string | undefined;
  let leader: string | undefined;
  return {
    label: 'nats-stream-leader',
    component: async (probe) => {
      killed = await faultStreamLeader(probe);
      return killed;
    },
    recovered: async ({ jsm }) => {
      const cluster = (await jsm.streams.info(FAULTS_STREAM)).cluster;
      leader = cluster?.leader;
      if (leader && leader !== killed) elected ??= leader;
      const replicas = cluster?.replicas ?? [];
      return Boolean(leader) && replicas.length === NATS_NODES - 1 && replicas.every((r) => r.current && !r.offline);
    },
    note: () => (elected !== undefined ? `${elected} elected in its place` : `${String(leader)} re-elected after its restart`),
  };
}

const FAULTS: StormFault[] = [
  streamLeaderKill(),
  { label: 'worker', component: () => Promise.resolve('worker-1') },
  { label: 'intake', component: () => Promise.resolve('intake-2') },
  { label: 'temporal-server', component: () => Promise.resolve('temporal-server') },
  { label: 'postgres', component: () => Promise.resolve('postgres') },
];

let dir = '';
let files: StormFiles;
let stack: ClusterStack | undefined;
let config: Config;

async function allFree(ports: number[]): Promise<boolean> {
  try {
    for (const port of ports) await assertPortFree(port, 'storm', 'storm');
    return true;
  } catch {
    return false;
  }
}

/** Ports handed out by {@link freeBlock}, so no two blocks share one. */
const taken = new Set<number>();

/** A first port such that the ports `layout` derives from it are all free, within the Temporal server's range and apart from every other block. */
async function freeBlock(layout: (first: number) => number[]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const first = 20_400 + Math.floor(Math.random() * (MAX_CLUSTER_PORT - 20_400 - 20));
    const ports = layout(first);
    if (ports.some((p) => taken.has(p)) || !(await allFree(ports))) continue;
    for (const p of ports) taken.add(p);
    return first;
  }
  throw new Error('no free block of ports');
}

/** A NATS node takes the port after the one before it: client, monitoring and route ports alike. */
const natsNodes = (first: number): number[] => Array.from({ length: NATS_NODES }, (_, i) => first + i);

/** Makes the storm's files and starts the cluster on fresh ports in a fresh directory. */
async function startOnFreshPorts(): Promise<ClusterStack> {
  // The state directory is the temporary directory itself: PostgreSQL's account must be able to enter it.
  dir = mkdtempSync(join(tmpdir(), 'cluster-storm-'));
  const stateDir = dir;
  const stormDir = join(dir, 'storm');
  mkdirSync(stormDir);
  files = writeStormFiles(stormDir, '30s');
  const [apiPort, postgresPort] = await freePorts(2);
  config = loadConfig(
    {
      stateDir,
      temporalPort: await freeBlock((f) => Object.values(clusterPortsAt(f))),
      intakePort: await freeBlock((f) => [f, f + 1]),
      workerMetricsPort: await freeBlock((f) => [f, f + 1]),
      natsPort: await freeBlock(natsNodes),
      natsMonitorPort: await freeBlock(natsNodes),
      natsClusterPort: await freeBlock(natsNodes),
      apiPort,
      postgresPort,
      runbooksDir: files.runbooksDir,
      workflowBundle: await stormWorkflowBundle(stormDir),
      ...STORM_NAK,
    },
    {},
  );
  return startClusterStack(config, { restart: STORM_RESTART_POLICY, logger: createLogger('stack', 'warn') });
}

before(async () => {
  // Another test file's stack may take a port between the check and the bind.
  stack = await retryOnPortClash(async () => {
    try {
      return await startOnFreshPorts();
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  });
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('cluster stack: 5,000 faults over 200 targets while the NATS stream leader, a worker, an intake, the Temporal server and PostgreSQL are killed: none lost, no overlap, no effect twice, none stuck', { timeout: 360_000 }, async (t) => {
  const s = stack;
  if (!s) throw new Error('no stack');
  const info = s.info;
    const intakePorts = Object.entries(info.components).filter(([name]) => name.startsWith('intake-')).map(([, c]) => c.port ?? 0);
  const { count, summary } = await runStorm(
    { label: 'cluster', config: { ...config, stateDir: info.stateDir, natsUrl: info.natsUrl, temporalAddress: info.temporalAddress }, info, intakePorts },
    { targets: 200, events: 5_000, durationMs: 90_000, lanes: 4, faults: FAULTS, closeBoundMs: 180_000, recoverBoundMs: 90_000 },
    files,
    (line) => t.diagnostic(line),
  );
  console.log(`storm-summary ${JSON.stringify(summary)}`);
  assertStormHeld(count, summary);
});
