import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { ENV, loadConfig, type Config } from '../../config/config';
import { connectNats } from '../../config/nats-connect';
import { credentialsDir, ensureNatsCredentials } from '../../config/nats-credentials';
import { FAULTS_STREAM, INTAKE_CONSUMER } from '../../intake/streams';
import { createLogger } from '../../observability/logger';
import { publishDurably } from '../../platform/jetstream-publish';
import { prepareNatsCluster, startNatsCluster, type NatsCluster } from '../../stack/nats-cluster';
import { freePorts, PortInUseError } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';
import { PROVISIONED_STREAMS, provisionNats } from '../../workers/provision';

const TOTAL = 300;
const KILL_AFTER = 60;
const RESTART_AFTER = 160;

let stateDir: string;
let cluster: NatsCluster;
let config: Config;
const open: NatsConnection[] = [];

/** A long-lived connection as the processes make it: every server of the list, reconnecting forever. */
async function as(role: 'admin' | 'producer' | 'intake'): Promise<NatsConnection> {
  const nc = await connectNats(config, role, { name: `cluster-${role}`, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 200, timeout: 5_000 });
  open.push(nc);
  return nc;
}

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'nats-cluster-'));
  const users = ensureNatsCredentials(credentialsDir(stateDir), 4);
  const ports = await freePorts(9);
  cluster = await startNatsCluster({ stateDir, clientPorts: ports.slice(0, 3), clusterPorts: ports.slice(3, 6), monitorPorts: ports.slice(6, 9), users });
  config = loadConfig({ stateDir }, { [ENV.natsUrl]: cluster.urls.join(',') });
});

after(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await cluster?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test('the route password is generated once and readable by its owner only', () => {
  assert.equal(statSync(join(stateDir, 'nats', 'cluster-route.password')).mode & 0o777, 0o600);
  assert.equal(cluster.nodes.length, 3);
  assert.equal(new Set(cluster.nodes.map((n) => n.name)).size, 3);
});

test('faults published through a leader loss are stored exactly once and all consumed', { timeout: 90_000 }, async () => {
  const admin = await as('admin');
  const changes = await provisionNats(admin, createLogger('provision', 'error'), { replicas: 3 });
  assert.ok(changes.every((c) => c.outcome === 'missing'), 'a fresh cluster had nothing to rescale');
  const jsm = await admin.jetstreamManager();
  for (const stream of PROVISIONED_STREAMS) {
    await waitFor(`${stream} to have a leader and two current replicas`, 20_000, async () => {
      const info = await jsm.streams.info(stream);
      return Boolean(info.cluster?.leader) && (info.cluster?.replicas ?? []).filter((r) => r.current).length === 2;
    });
    const info = await jsm.streams.info(stream);
    assert.equal(info.config.num_replicas, 3, stream);
  }

  // The intake's durable pull consumer, on a connection with the whole server list; it keeps fetching through errors.
  const intake = await as('intake');
  const received = new Map<string, number>();
  let consuming = true;
  const consumer = (async (): Promise<void> => {
    while (consuming) {
      try {
        const c = await intake.jetstream().consumers.get(FAULTS_STREAM, INTAKE_CONSUMER);
        const batch = await c.fetch({ max_messages: 50, expires: 1_000 });
        for await (const m of batch) {
          const id = m.headers?.get('Nats-Msg-Id') ?? '';
          received.set(id, (received.get(id) ?? 0) + 1);
          m.ack();
        }
      } catch {
        // A leader moving away fails a fetch; the next one finds the new leader.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();

  const producer = await as('producer');
  const js = producer.jetstream();
  const acked: string[] = [];
  let killed = -1;
  let retries = 0;
  for (let i = 0; i < TOTAL; i++) {
    if (i === KILL_AFTER) {
      const leader = (await jsm.streams.info(FAULTS_STREAM)).cluster?.leader;
      killed = cluster.nodes.findIndex((n) => n.name === leader);
      assert.ok(killed >= 0, `the FAULTS leader ${String(leader)} is one of our nodes`);
      const victim = cluster.nodes[killed];
      process.kill(victim?.proc.pid ?? -1, 'SIGKILL');
      await victim?.proc.exited;
    }
    if (i === RESTART_AFTER) await cluster.restartNode(killed);
    const id = `cluster-ev-${i}`;
    const event = { id, source: 'cluster-test', service: 'cluster', target: `node-${i % 7}`, kind: 'node_down', severity: 'critical', observedAt: new Date().toISOString() };
    await publishDurably(js, `faults.cluster.node_down`, JSON.stringify(event), { msgID: id, closed: () => producer.isClosed(), onRetry: () => retries++ });
    acked.push(id);
  }
  assert.ok(retries > 0, 'the leader loss made some publish wait for a new leader (the scenario was exercised)');
  const newLeader = (await jsm.streams.info(FAULTS_STREAM)).cluster?.leader;
  assert.notEqual(newLeader, cluster.nodes[killed]?.name, 'another node led the stream after the kill');

  await waitFor('the consumer to receive every acknowledged fault', 30_000, () => acked.every((id) => received.has(id)), 100);
  consuming = false;
  await consumer;

  // Count what the stream holds by message id: zero lost, zero stored twice.
  const info = await jsm.streams.info(FAULTS_STREAM);
  const stored = new Map<string, number>();
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(FAULTS_STREAM, { seq });
    const id = m.header.get('Nats-Msg-Id');
    stored.set(id, (stored.get(id) ?? 0) + 1);
  }
  assert.equal(acked.length, TOTAL);
  assert.deepEqual([...stored.keys()].sort(), [...acked].sort(), 'the stream holds exactly the acknowledged faults');
  assert.deepEqual([...stored.entries()].filter(([, n]) => n !== 1), [], 'no fault is stored twice');
  assert.equal(info.state.messages, TOTAL);
  assert.deepEqual([...received.keys()].filter((id) => !acked.includes(id)), [], 'the consumer received nothing that was not published');

  // The restarted node caught up: it is a current replica again.
  await waitFor('the restarted node to be a current replica of FAULTS', 20_000, async () => {
    const c = (await jsm.streams.info(FAULTS_STREAM)).cluster;
    const name = cluster.nodes[killed]?.name;
    return c?.leader === name || (c?.replicas ?? []).some((r) => r.name === name && r.current);
  });
});

test('provisioning again changes nothing; a stream of one copy is rescaled to three', { timeout: 30_000 }, async () => {
  const admin = await as('admin');
  const jsm = await admin.jetstreamManager();
  await jsm.streams.update(FAULTS_STREAM, { ...(await jsm.streams.info(FAULTS_STREAM)).config, num_replicas: 1 });
  assert.equal((await jsm.streams.info(FAULTS_STREAM)).config.num_replicas, 1);
  const changes = await provisionNats(admin, createLogger('provision', 'error'), { replicas: 3 });
  assert.deepEqual(changes.find((c) => c.stream === FAULTS_STREAM), { stream: FAULTS_STREAM, outcome: 'updated', from: 1 });
  assert.ok(changes.filter((c) => c.stream !== FAULTS_STREAM).every((c) => c.outcome === 'unchanged'));
  const info = await jsm.streams.info(FAULTS_STREAM);
  assert.equal(info.config.num_replicas, 3);
  assert.equal(info.state.messages, TOTAL, 'rescaling kept every message');
});

test('a node whose port another process took after the check fails with PortInUseError naming that port, so the caller can pick again', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nats-clash-'));
  const [taken = 0, cluster1 = 0, monitor1 = 0] = await freePorts(3);
  const holder = createServer();
  await new Promise<void>((ok) => holder.listen(taken, '127.0.0.1', ok));
  try {
    const [node] = prepareNatsCluster({ stateDir: dir, clientPorts: [taken], clusterPorts: [cluster1], monitorPorts: [monitor1], users: ensureNatsCredentials(credentialsDir(dir), 4) });
    assert.ok(node);
    await assert.rejects(node.start(undefined, 20_000), (err: unknown) => err instanceof PortInUseError && err.port === taken);
  } finally {
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
