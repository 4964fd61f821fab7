import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ENV } from '../../config/config';
import { NATS_CLUSTER_NODES } from '../../config/nats-cluster-shape';
import { SEARCH_ATTRIBUTE_TYPES } from '../../schemas/search-attributes';
import { PROJECT_ROOT } from '../../stack/toolchain';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** Our own processes, built from the Dockerfile. */
const OUR_SERVICES = ['worker-1', 'worker-2', 'intake-1', 'intake-2', 'api'];

test('the deployment has Temporal on PostgreSQL, its UI, three NATS nodes, two workers, two intakes and the API', () => {
  const expected = ['postgresql', 'temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui', ...NATS_CLUSTER_NODES, 'nats-provision', ...OUR_SERVICES];
  for (const name of expected) assert.ok(compose.services[name], `service ${name}`);
  assert.deepEqual(Object.keys(compose.services).sort(), [...expected].sort(), 'no other services');
  assert.equal(compose.services.temporal?.environment?.DB, 'postgres12');
  assert.equal(compose.services.temporal?.environment?.POSTGRES_SEEDS, 'postgresql');
});

test('every service dependency names a service that exists', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) assert.ok(compose.services[dep], `${name} depends on missing ${dep}`);
  }
});

test('stateful services keep their data on named volumes', () => {
  const volumeOf = (svc: string, path: string): string | undefined =>
    compose.services[svc]?.volumes?.find((v) => v.endsWith(`:${path}`))?.split(':')[0];
  const pg = volumeOf('postgresql', '/var/lib/postgresql/data');
  assert.ok(pg && pg in compose.volumes, 'postgres volume');
  const natsVolumes = NATS_CLUSTER_NODES.map((node) => volumeOf(node, '/data'));
  for (const [i, v] of natsVolumes.entries()) assert.ok(v && v in compose.volumes, `${NATS_CLUSTER_NODES[i] ?? ''} volume`);
  assert.equal(new Set(natsVolumes).size, NATS_CLUSTER_NODES.length, 'each NATS node keeps its own store');
});

test('NATS runs JetStream on its volume with fsync before every ack', () => {
  const conf = readFileSync(join(PROJECT_ROOT, 'deploy', 'nats-server.conf'), 'utf8');
  assert.match(conf, /store_dir:\s*"\/data"/);
  assert.match(conf, /sync_interval:\s*always/);
});

test('the workers, intakes and API get every variable they need, and only variables the code reads', () => {
  const known = new Set<string>(Object.values(ENV));
  for (const svc of OUR_SERVICES) {
    const env = compose.services[svc]?.environment ?? {};
    for (const needed of [ENV.temporalAddress, ENV.natsUrl, ENV.natsReplicas, ENV.namespace, ENV.taskQueue, ENV.mode, ENV.workflowBundle, ENV.runbooksDir]) {
      assert.ok(env[needed], `${svc} lacks ${needed}`);
    }
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${svc} sets ${name}, which nothing reads`);
    assert.ok(compose.services[svc]?.build, `${svc} is built from the Dockerfile`);
    const entry = compose.services[svc]?.command?.[1] ?? '';
    const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
    assert.ok(existsSync(join(PROJECT_ROOT, source)), `${svc} entry ${entry} compiles from ${source}`);
  }
});

test('the setup job registers every search attribute incidents use', () => {
  const script = readFileSync(join(PROJECT_ROOT, 'deploy', 'temporal-setup.sh'), 'utf8');
  for (const attr of Object.keys(SEARCH_ATTRIBUTE_TYPES)) assert.match(script, new RegExp(`\\b${attr}\\b`));
});

test('the approval API gets a tokens file and the worker a roster, both of which exist and parse', async () => {
  const { loadTokensFile } = await import('../../config/tokens');
  const { loadRosterFile } = await import('../../config/roster');
  const hostPath = (containerPath: string): string => join(PROJECT_ROOT, 'deploy', 'config', containerPath.replace('/app/config/', ''));
  const tokens = compose.services.api?.environment?.[ENV.tokensFile];
  const roster = compose.services['worker-1']?.environment?.[ENV.rosterFile];
  assert.ok(tokens && roster);
  await loadTokensFile(hostPath(tokens));
  const parsed = await loadRosterFile(hostPath(roster));
  assert.ok(Object.keys(parsed.groups).length > 0);
});

test('in production the workers and the approval API all get the same roster, since none starts without one', () => {
  const api = compose.services.api?.environment ?? {};
  for (const name of ['worker-1', 'worker-2']) {
    const worker = compose.services[name]?.environment ?? {};
    assert.equal(worker[ENV.mode], 'production');
    assert.ok(worker[ENV.rosterFile], `${name} names a roster`);
    assert.equal(api[ENV.rosterFile], worker[ENV.rosterFile], `the API names the same roster as ${name}`);
  }
});

