import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENV } from '../../config/config';
import { FAULTS_STREAM } from '../../intake/streams';
import type { IncidentState } from '../../schemas/incident-state';
import { clusterPortsAt, MAX_CLUSTER_PORT } from '../../stack/cluster-ports';
import { assertPortFree, freePort } from '../../stack/ports';
import { processStartTime } from '../../stack/process-identity';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { runCli, type CliRun } from '../helpers/cli';
import { liveRecordedPids, prepareCliStack, type CliStack } from '../helpers/cli-stack';

const NATS_NODES = ['nats-1', 'nats-2', 'nats-3'];
const COMPONENTS = ['postgres', 'temporal-server', ...NATS_NODES, 'worker-1', 'worker-2', 'intake-1', 'intake-2', 'api'];
/** The first start creates the databases and applies every schema version. */
const UP_TIMEOUT_MS = 330_000;

let stack: CliStack;
let firstUp: CliRun;

async function allFree(ports: number[]): Promise<boolean> {
  try {
    for (const port of ports) await assertPortFree(port, 'test', 'test');
    return true;
  } catch {
    return false;
  }
}

/** A first port such that it and the `span - 1` after it (or the cluster layout around it) are free and within the server's range. */
async function freeBlock(ports: (first: number) => number[]): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const first = 20_400 + Math.floor(Math.random() * (MAX_CLUSTER_PORT - 20_400 - 20));
    if (await allFree(ports(first))) return first;
  }
  throw new Error('no free block of ports');
}

/** Pids of live (not zombie) processes whose process group is one of `groups`. */
function runningInGroups(groups: Set<number>): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name: state (3), ppid (4), pgrp (5).
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && groups.has(Number(pgrp))) found.push(Number(entry));
  }
  return found;
}

const up = (): Promise<CliRun> => runCli(['up', '--cluster', '--detach'], stack.env, UP_TIMEOUT_MS);

interface StatusJson {
  running: boolean;
  healthy: boolean;
  kind: string;
  components: { name: string; healthy: boolean; state?: string; pid?: number; port?: number; restarts?: number }[];
  nats?: { metaLeader?: string; streams: { name: string; leader?: string; followers: { name: string; current: boolean }[] }[] };
}

async function statusJson(): Promise<StatusJson> {
  const run = await stack.status(true);
  return JSON.parse(run.stdout) as StatusJson;
}

async function incidentState(id: string): Promise<IncidentState | undefined> {
  const run = await runCli(['show', id, '--json'], stack.env);
  return run.code === 0 ? (JSON.parse(run.stdout) as IncidentState) : undefined;
}

before(async () => {
  const temporal = await freeBlock((f) => Object.values(clusterPortsAt(f)));
  const intake = await freeBlock((f) => [f, f + 1]);
  const worker = await freeBlock((f) => [f, f + 1]);
  const nodes = (f: number): number[] => [f, f + 1, f + 2];
  const natsClient = await freeBlock(nodes);
  const natsMonitor = await freeBlock(nodes);
  const natsRoutes = await freeBlock(nodes);
  stack = await prepareCliStack({
    [ENV.runbooksDir]: join(PROJECT_ROOT, 'test/fixtures/runbooks-heal'),
    [ENV.temporalPort]: String(temporal),
    [ENV.intakePort]: String(intake),
    [ENV.workerMetricsPort]: String(worker),
    [ENV.natsPort]: String(natsClient),
    [ENV.natsMonitorPort]: String(natsMonitor),
    [ENV.natsClusterPort]: String(natsRoutes),
    [ENV.postgresPort]: String(await freePort()),
  });
  firstUp = await up();
  assert.equal(firstUp.code, 0, firstUp.stdout + firstUp.stderr);
});

after(async () => {
  await stack?.cleanup();
});

test('up --cluster brings up PostgreSQL, the Temporal server, three NATS nodes, two workers, two intakes and the API, and status shows each running with pid and port', async () => {
  assert.match(firstUp.stdout, /self-healing-runbooks is up \(cluster stack\)/);
  assert.match(firstUp.stdout, /Temporal UI +none in the cluster stack; see incidents with: npx runbook incidents/);
  assert.match(firstUp.stdout, /NATS +nats:\/\/127\.0\.0\.1:\d+, nats:\/\/127\.0\.0\.1:\d+, nats:\/\/127\.0\.0\.1:\d+ /);
  assert.match(firstUp.stdout, /Your token +.*operator\.token/);
  assert.match(firstUp.stdout, /Roster +.*roster\.yaml/);
  const report = await statusJson();
  assert.equal(report.kind, 'cluster');
  assert.equal(report.healthy, true, JSON.stringify(report));
  assert.deepEqual(report.components.map((c) => [c.name, c.state, c.healthy]), COMPONENTS.map((n) => [n, 'running', true]));
  const info = stack.info();
  for (const c of report.components) {
    assert.equal(c.pid, info.components[c.name]?.pid);
    assert.ok(c.port && c.port > 0, `${c.name} has a port`);
  }
  assert.notEqual(info.components['intake-1']?.port, info.components['intake-2']?.port);
  assert.match(readFileSync(join(stack.stateDir, 'logs', 'up.log'), 'utf8'), /Temporal schemas: temporal [\d.]+ \(created\), temporal_visibility [\d.]+ \(created\)/);
  const text = await stack.status();
  assert.equal(text.code, 0, text.stdout);
  for (const name of COMPONENTS) assert.match(text.stdout, new RegExp(`^ok\\s+${name}\\s+running\\s+pid ${info.components[name]?.pid} `, 'm'));
});

test('every stream has three replicas, and status names the meta leader and each stream\'s leader and followers', async () => {
  const report = await statusJson();
  assert.ok(report.nats, JSON.stringify(report));
  assert.ok(NATS_NODES.includes(report.nats.metaLeader ?? ''), `meta leader ${report.nats.metaLeader}`);
  assert.ok(report.nats.streams.length >= 3, JSON.stringify(report.nats.streams));
  for (const s of report.nats.streams) {
    assert.ok(NATS_NODES.includes(s.leader ?? ''), `${s.name} has a leader`);
    assert.deepEqual([s.leader, ...s.followers.map((f) => f.name)].sort(), NATS_NODES, `${s.name} lives on every node`);
  }
  const text = await stack.status();
  for (const s of report.nats.streams) assert.match(text.stdout, new RegExp(`^\\s+streams\\s+${s.name}: leader ${s.leader}, followers `, 'm'));
  assert.match(text.stdout, new RegExp(`^ok\\s+${report.nats.metaLeader}\\s.*meta leader`, 'm'));
});

test('a fault for an approval-free runbook heals through the cluster', async () => {
  const fault = await runCli(['fault', '--service', 'app', '--target', 'node-1', '--kind', 'node_down'], stack.env);
  assert.equal(fault.code, 0, fault.stdout + fault.stderr);
  let state: IncidentState | undefined;
  await waitFor('the incident to resolve', 120_000, async () => (state = await incidentState('app/node-1'))?.status === 'resolved', 500);
  assert.equal(state?.outcome, 'healed');
});

test('a SIGKILLed worker is restarted by the supervisor while the rest keep their pids', async () => {
  const before = stack.info();
  const victim = before.components['worker-1'];
  assert.ok(victim);
  process.kill(victim.pid, 'SIGKILL');
  await waitFor('worker-1 to be restarted', 90_000, () => {
    const c = stack.info().components['worker-1'];
    return c !== undefined && c.pid !== victim.pid && c.state === 'running';
  }, 200);
  const now = stack.info();
  assert.equal(now.components['worker-1']?.restarts, 1);
  assert.equal(now.components['worker-1']?.lastExit?.signal, 'SIGKILL');
  for (const name of COMPONENTS.filter((n) => n !== 'worker-1')) assert.equal(now.components[name]?.pid, before.components[name]?.pid, `${name} kept its process`);
  assert.equal((await statusJson()).healthy, true);
});

test('a SIGKILLed leader of the fault stream hands over: faults keep healing meanwhile and the node comes back as a follower', async () => {
  const leaderOf = async (): Promise<string | undefined> => (await statusJson()).nats?.streams.find((s) => s.name === FAULTS_STREAM)?.leader;
  const leader = await leaderOf();
  assert.ok(leader && NATS_NODES.includes(leader), `leader ${leader}`);
  const victim = stack.info().components[leader];
  assert.ok(victim);
  process.kill(victim.pid, 'SIGKILL');
  // The supervisor restarts the node within a second, and with the same log it may win the election again:
  // leadership has passed once a leader answers that is not the killed process.
  await waitFor('a leader of the fault stream other than the killed process', 60_000, async () => {
    const now = await leaderOf();
    return now !== undefined && (now !== leader || stack.info().components[leader]?.pid !== victim.pid);
  }, 250);
  const fault = await runCli(['fault', '--service', 'app', '--target', 'node-2', '--kind', 'node_down'], stack.env);
  assert.equal(fault.code, 0, fault.stdout + fault.stderr);
  await waitFor(`${leader} to be restarted`, 90_000, () => {
    const c = stack.info().components[leader];
    return c !== undefined && c.pid !== victim.pid && c.state === 'running';
  }, 200);
  let state: IncidentState | undefined;
  await waitFor('the incident raised during the node loss to resolve', 120_000, async () => (state = await incidentState('app/node-2'))?.status === 'resolved', 500);
  assert.equal(state?.outcome, 'healed');
  await waitFor(`${leader} to be a current follower of every stream again`, 60_000, async () => {
    const report = await statusJson();
    return report.healthy && (report.nats?.streams ?? []).every((s) => s.leader === leader || s.followers.some((f) => f.name === leader && f.current));
  }, 500);
});

test('runbook demo crash --auto-approve heals the demo fleet against the cluster', async () => {
  const run = await runCli(['demo', 'crash', '--auto-approve'], stack.env, 300_000);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /time to detect\s+\d/);
  assert.match(run.stdout, /time to fully healed\s+\d/);
  assert.match(run.stdout, /incident\s+incident\/demo\/primary\s+resolved \(healed\)/);
  assert.match(run.stdout, /identical on primary and standby/);
});

test('down stops every process of the cluster stack', async () => {
  const info = stack.info();
  const pids = [info.supervisorPid, ...Object.values(info.components).map((c) => c.pid)];
  const down = await stack.down();
  assert.equal(down.code, 0, down.stdout + down.stderr);
  assert.match(down.stdout, /stopped the cluster stack in /);
  assert.deepEqual(liveRecordedPids(info), []);
  // An exited process may linger as a zombie until its parent reaps it; it runs no more.
  for (const pid of pids) assert.equal(processStartTime(pid), undefined, `process ${pid} is still running`);
  const groups = new Set(Object.values(info.components).map((c) => c.pid));
  assert.deepEqual(runningInGroups(groups), [], 'nothing a component started (PostgreSQL backends) outlives it');
  assert.equal((await stack.status()).code, 1);
});

test('a second up --cluster on the same state directory reuses the database and its incidents', async () => {
  const pgVersion = join(stack.stateDir, 'cluster', 'postgres', 'data', 'PG_VERSION');
  const before = statSync(pgVersion);
  const logBefore = readFileSync(join(stack.stateDir, 'logs', 'up.log'), 'utf8').length;
  const again = await up();
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const after = statSync(pgVersion);
  assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'initdb did not run again');
  const log = readFileSync(join(stack.stateDir, 'logs', 'up.log'), 'utf8').slice(logBefore);
  assert.match(log, /Temporal schemas: temporal [\d.]+, temporal_visibility [\d.]+\n/);
  assert.doesNotMatch(log, /\(created\)/);
  assert.equal((await incidentState('app/node-1'))?.status, 'resolved', 'the first run\'s incident is still there');
  const down = await stack.down();
  assert.equal(down.code, 0, down.stdout + down.stderr);
  assert.deepEqual(liveRecordedPids(stack.info()), []);
});
