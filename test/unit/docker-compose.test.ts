import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ENV } from '../../config/config';
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

test('the deployment has Temporal on PostgreSQL, its UI, NATS, the worker and the intake', () => {
  for (const name of ['postgresql', 'temporal', 'temporal-setup', 'temporal-ui', 'nats', 'worker', 'intake', 'api']) assert.ok(compose.services[name], `service ${name}`);
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
  const nats = volumeOf('nats', '/data');
  assert.ok(pg && pg in compose.volumes, 'postgres volume');
  assert.ok(nats && nats in compose.volumes, 'nats volume');
});

test('NATS runs JetStream on its volume with fsync before every ack', () => {
  const conf = readFileSync(join(PROJECT_ROOT, 'deploy', 'nats-server.conf'), 'utf8');
  assert.match(conf, /store_dir:\s*"\/data"/);
  assert.match(conf, /sync_interval:\s*always/);
});

test('the worker and intake get every variable they need, and only variables the code reads', () => {
  const known = new Set<string>(Object.values(ENV));
  for (const svc of ['worker', 'intake', 'api']) {
    const env = compose.services[svc]?.environment ?? {};
    for (const needed of [ENV.temporalAddress, ENV.natsUrl, ENV.namespace, ENV.taskQueue, ENV.mode, ENV.workflowBundle, ENV.runbooksDir]) {
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
  const roster = compose.services.worker?.environment?.[ENV.rosterFile];
  assert.ok(tokens && roster);
  await loadTokensFile(hostPath(tokens));
  const parsed = await loadRosterFile(hostPath(roster));
  assert.ok(Object.keys(parsed.groups).length > 0);
});

test('in production the worker and the approval API both get the same roster, since neither starts without one', () => {
  const worker = compose.services.worker?.environment ?? {};
  const api = compose.services.api?.environment ?? {};
  assert.equal(worker[ENV.mode], 'production');
  assert.ok(worker[ENV.rosterFile], 'the worker names a roster');
  assert.equal(api[ENV.rosterFile], worker[ENV.rosterFile], 'the API names the same roster');
});

