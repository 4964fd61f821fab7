import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { parse } from 'yaml';
import { DEPLOY_CERTIFICATES } from '../../cli/commands/certs';
import { ensureDeploySecrets } from '../../cli/commands/deploy-secrets';
import { ConfigError, ENV, loadConfig, natsReplicasFor } from '../../config/config';
import { NATS_CLUSTER_NAME, NATS_CLUSTER_NODES, NATS_CLUSTER_REPLICAS, NATS_ROUTE_PORT, NATS_ROUTE_USER, natsClusterUrl } from '../../config/nats-cluster-shape';
import { natsConnectOptions } from '../../config/nats-connect';
import { ROUTE_PASSWORD_FILE, routeIncludeFile } from '../../config/nats-route-credentials';
import { createLogger } from '../../observability/logger';
import { NATS_NODES, natsTierPorts } from '../../stack/cluster-stack';
import { prepareNatsCluster } from '../../stack/nats-cluster';
import { PROJECT_ROOT, pinnedVersions } from '../../stack/toolchain';
import { provisionNats } from '../../workers/provision';

/**
 * The cluster docker-compose.yml describes: three NATS nodes routed to
 * exactly the other two with the generated route credential, every stream
 * and bucket on all of them, and our services told about every node.
 */

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
}
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const natsNodes = Object.entries(compose.services).filter(([, svc]) => svc.image?.startsWith('nats:'));
const ours = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined);
const conf = readFileSync(join(PROJECT_ROOT, 'deploy', 'nats-server.conf'), 'utf8');

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'compose-cluster-'));
  await ensureDeploySecrets(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const hostOf = (svc: Service, target: string): string | undefined => svc.volumes?.find((v) => v.split(':')[1] === target)?.split(':')[0];

test('the NATS services are exactly the nodes of the shared cluster shape, each named for its service', () => {
  assert.deepEqual(natsNodes.map(([name]) => name).sort(), [...NATS_CLUSTER_NODES].sort());
  for (const [name, svc] of natsNodes) assert.equal(svc.environment?.['NATS_SERVER_NAME'], name, `${name}'s server_name`);
  assert.match(conf, /^server_name:\s*\$NATS_SERVER_NAME$/m);
});

test('each node runs the cluster block with TLS on its routes and mounts its own route include', () => {
  const cluster = /^cluster\s*\{([\s\S]*?)^\}/m.exec(conf)?.[1];
  assert.ok(cluster, 'nats-server.conf has a cluster block');
  assert.match(cluster, new RegExp(`name:\\s*${NATS_CLUSTER_NAME}\\b`));
  assert.match(cluster, new RegExp(`listen:\\s*0\\.0\\.0\\.0:${NATS_ROUTE_PORT}\\b`));
  assert.match(cluster, /tls\s*\{[^}]*cert_file/);
  const include = /^\s*include\s+\.\/(\S+)/m.exec(cluster)?.[1];
  assert.ok(include, 'the cluster block includes the routes');
  for (const [name, svc] of natsNodes) {
    assert.equal(hostOf(svc, `/etc/nats/${include}`), `./deploy/nats/${routeIncludeFile(name as (typeof NATS_CLUSTER_NODES)[number])}`, `${name} mounts its own routes`);
  }
});

test("each node's generated routes name exactly the other nodes, with the route credential it also requires", () => {
  const password = readFileSync(join(dir, 'nats', ROUTE_PASSWORD_FILE), 'utf8').trim();
  assert.ok(password.length >= 24, 'a long random route password');
  for (const node of NATS_CLUSTER_NODES) {
    const file = join(dir, 'nats', routeIncludeFile(node));
    assert.equal(statSync(file).mode & 0o077, 0, `${routeIncludeFile(node)} is private`);
    const text = readFileSync(file, 'utf8');
    const routes = [...text.matchAll(/"nats-route:\/\/([^:@]+):([^@]+)@([^:]+):(\d+)"/g)];
    assert.deepEqual(routes.map((r) => r[3]).sort(), NATS_CLUSTER_NODES.filter((n) => n !== node).sort(), `${node} routes to the others only`);
    for (const r of routes) {
      assert.deepEqual([r[1], r[2], Number(r[4])], [NATS_ROUTE_USER, password, NATS_ROUTE_PORT]);
    }
    assert.match(text, new RegExp(`authorization\\s*\\{\\s*user:\\s*"${NATS_ROUTE_USER}"\\s*password:\\s*"${password}"\\s*\\}`), `${node} requires the route credential`);
  }
});

test('every node keeps fsync-before-ack JetStream and the image the local stack pins', () => {
  assert.match(conf, /sync_interval:\s*always/);
  const pinned = (pinnedVersions()['NATS_SERVER_VERSION'] ?? '').replace(/^v/, '');
  assert.ok(pinned);
  for (const [name, svc] of natsNodes) assert.equal(svc.image, `nats:${pinned}-alpine`, name);
});

test('Temporal runs the server release the local cluster pins, with admin tools of the same release', () => {
  const pinned = (pinnedVersions()['TEMPORAL_SERVER_VERSION'] ?? '').replace(/^v/, '');
  assert.ok(pinned);
  assert.equal(compose.services['temporal']?.image, `temporalio/server:${pinned}`);
  for (const job of ['temporal-schema', 'temporal-setup']) assert.equal(compose.services[job]?.image, `temporalio/admin-tools:${pinned}`, job);
  const script = readFileSync(join(PROJECT_ROOT, 'deploy', 'temporal-schema.sh'), 'utf8');
  for (const db of ['temporal', 'temporal_visibility']) assert.match(script, new RegExp(`\\b${db}:`), `the schema job sets up ${db}`);
  assert.doesNotMatch(script, /--password|-pw\b/, 'the database password never goes on a command line');
});

test('the NATS server certificate is valid for every node, and as the client side of a route', () => {
  const spec = DEPLOY_CERTIFICATES.find((c) => c.name === 'nats-server');
  assert.ok(spec);
  for (const node of NATS_CLUSTER_NODES) assert.ok(spec.dns?.includes(node), node);
  assert.ok(spec.usage?.includes('serverAuth') && spec.usage.includes('clientAuth'));
});

test('our services reach every node and provision as many copies as there are nodes, the count the local cluster shares', () => {
  assert.equal(NATS_CLUSTER_REPLICAS, 3);
  assert.equal(NATS_CLUSTER_REPLICAS, natsNodes.length);
  for (const [name, svc] of ours) {
    const config = loadConfig({}, svc.environment ?? {});
    assert.equal(config.natsReplicas, NATS_CLUSTER_REPLICAS, `${name} ${ENV.natsReplicas}`);
    assert.equal(config.natsUrl, natsClusterUrl(), `${name} lists every node`);
  }
});

test('runbook up --cluster runs the same nodes as the compose file, with the same cluster name, route user and fsync-before-ack, and provisions as many copies', () => {
  assert.equal(NATS_NODES, natsNodes.length);
  const config = loadConfig({}, { [ENV.natsPort]: '24100', [ENV.natsMonitorPort]: '24200', [ENV.natsClusterPort]: '24300' });
  const ports = natsTierPorts(config);
  const nodes = prepareNatsCluster({ stateDir: join(dir, 'local-cluster'), ...ports });
  assert.deepEqual(nodes.map((n) => n.name), natsNodes.map(([name]) => name));
  for (const node of nodes) {
    const text = readFileSync(join(dir, 'local-cluster', 'nats', `${node.name}.conf`), 'utf8');
    assert.match(text, new RegExp(`^server_name: ${node.name}$`, 'm'));
    assert.match(text, new RegExp(`^  name: "${NATS_CLUSTER_NAME}"$`, 'm'));
    assert.match(text, new RegExp(`^    user: "${NATS_ROUTE_USER}"$`, 'm'));
    assert.match(text, /^  sync_interval: always$/m);
    // Routes to every node, as in compose where each node names the others.
    for (const port of ports.clusterPorts) assert.match(text, new RegExp(`@127\\.0\\.0\\.1:${port}"`));
  }
  assert.equal(natsReplicasFor(loadConfig({}, { [ENV.natsUrl]: nodes.map((n) => n.url).join(',') })), NATS_CLUSTER_REPLICAS);
});

test('RUNBOOK_NATS_REPLICAS takes 1 to 5 and names itself when wrong; one server by default', () => {
  assert.equal(natsReplicasFor(loadConfig({}, {})), 1);
  assert.equal(natsReplicasFor(loadConfig({}, { [ENV.natsUrl]: natsClusterUrl() })), NATS_CLUSTER_REPLICAS);
  assert.equal(natsReplicasFor(loadConfig({}, { [ENV.natsReplicas]: '5' })), 5);
  for (const bad of ['0', '6', '2.5', 'three']) {
    assert.throws(() => loadConfig({}, { [ENV.natsReplicas]: bad }), (err: unknown) => err instanceof ConfigError && err.message.includes(ENV.natsReplicas), bad);
  }
});

test('RUNBOOK_NATS_URL takes a comma-separated list of servers, and the connection gets each one', () => {
  const list = natsClusterUrl();
  const passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, 'secret\n', { mode: 0o600 });
  const config = loadConfig({}, { [ENV.natsUrl]: list, [ENV.natsUser]: 'worker', [ENV.natsPasswordFile]: passwordFile });
  assert.deepEqual(natsConnectOptions(config, 'worker').servers, NATS_CLUSTER_NODES.map((n) => `tls://${n}:4222`));
  for (const bad of ['tls://a:4222,', 'tls://a:4222,,tls://b:4222', 'tls://a:4222,http://b']) {
    assert.throws(() => loadConfig({}, { [ENV.natsUrl]: bad }), ConfigError, bad);
  }
  // Blanks around the commas are tolerated, as in a list written by hand.
  assert.deepEqual(natsConnectOptions(loadConfig({}, { [ENV.natsUrl]: 'tls://a:4222, tls://b:4222', [ENV.natsUser]: 'worker', [ENV.natsPasswordFile]: passwordFile }), 'worker').servers, ['tls://a:4222', 'tls://b:4222']);
});

test('provisioning creates every stream and bucket with the configured number of copies', async () => {
  const streams: { name?: string; num_replicas?: number }[] = [];
  const buckets: { name: string; replicas?: number }[] = [];
  const notFound = (): Promise<never> => Promise.reject(Object.assign(new Error('not found'), { api_error: { code: 404, err_code: 10059 } }));
  const jsm = {
    streams: { info: notFound, add: (cfg: { name?: string; num_replicas?: number }) => (streams.push(cfg), Promise.resolve({ config: cfg })) },
    consumers: { info: notFound, add: (_s: string, cfg: unknown) => Promise.resolve({ config: cfg }) },
  };
  const js = { views: { kv: (name: string, opts?: { replicas?: number }) => (buckets.push({ name, ...opts }), Promise.resolve({})) } };
  const nc = { jetstreamManager: () => Promise.resolve(jsm), jetstream: () => js } as unknown as NatsConnection;
  await provisionNats(nc, createLogger('test', 'error'), { replicas: NATS_CLUSTER_REPLICAS });
  assert.ok(streams.length >= 4, 'the fault streams and the audit stream');
  for (const s of streams) assert.equal(s.num_replicas, NATS_CLUSTER_REPLICAS, `stream ${s.name ?? ''}`);
  assert.ok(buckets.length >= 2, 'the control bucket and the effects ledger');
  for (const b of buckets) assert.equal(b.replicas, NATS_CLUSTER_REPLICAS, `bucket ${b.name}`);
});
