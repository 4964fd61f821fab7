import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { CLUSTER_PORT_COUNT, clusterPortsFrom, DEFAULT_CLUSTER_PORTS, MAX_CLUSTER_PORT } from '../../stack/cluster-ports';
import { temporalClusterConfig } from '../../stack/temporal-cluster-config';

const database = { host: '127.0.0.1', port: 15432, user: 'temporal', password: 's3cret' };

interface Parsed {
  persistence: { defaultStore: string; visibilityStore: string; numHistoryShards: number; datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string; password: string } }> };
  services: Record<string, { rpc: { grpcPort: number; membershipPort: number; bindOnLocalHost: boolean; httpPort?: number } }>;
  global: { membership: { broadcastAddress: string } };
  clusterMetadata: { clusterInformation: { active: { rpcAddress: string } } };
  dynamicConfigClient: { filepath: string };
}

test('both stores are postgres12 on the given server, one database each', () => {
  const cfg = parse(temporalClusterConfig({ ports: DEFAULT_CLUSTER_PORTS, database, dynamicConfigFile: '/s/dc.yaml' })) as Parsed;
  const stores = cfg.persistence.datastores;
  const main = stores[cfg.persistence.defaultStore]?.sql;
  const vis = stores[cfg.persistence.visibilityStore]?.sql;
  assert.equal(main?.pluginName, 'postgres12');
  assert.equal(vis?.pluginName, 'postgres12');
  assert.equal(main?.databaseName, 'temporal');
  assert.equal(vis?.databaseName, 'temporal_visibility');
  assert.equal(main?.connectAddr, '127.0.0.1:15432');
  assert.equal(main?.password, 's3cret');
  assert.equal(cfg.persistence.numHistoryShards, 4);
  assert.equal(cfg.dynamicConfigClient.filepath, '/s/dc.yaml');
});

test('every role binds to loopback on its own ports, none of them a dev server default', () => {
  const cfg = parse(temporalClusterConfig({ ports: DEFAULT_CLUSTER_PORTS, database, dynamicConfigFile: 'dc.yaml', numHistoryShards: 8 })) as Parsed;
  assert.deepEqual(Object.keys(cfg.services).sort(), ['frontend', 'history', 'matching', 'worker']);
  const used = Object.values(cfg.services).flatMap(({ rpc }) => [rpc.grpcPort, rpc.membershipPort, ...(rpc.httpPort ? [rpc.httpPort] : [])]);
  assert.equal(new Set(used).size, CLUSTER_PORT_COUNT);
  for (const devDefault of [7233, 7234, 7235, 7239, 7243, 6933, 6934, 6935, 6939, 8233]) assert.ok(!used.includes(devDefault), `port ${devDefault} clashes with the dev server`);
  assert.ok(Object.values(cfg.services).every(({ rpc }) => rpc.bindOnLocalHost));
  assert.equal(cfg.global.membership.broadcastAddress, '127.0.0.1');
  assert.equal(cfg.clusterMetadata.clusterInformation.active.rpcAddress, `127.0.0.1:${DEFAULT_CLUSTER_PORTS.frontend}`);
  assert.equal(cfg.persistence.numHistoryShards, 8);
});

test('ports are named in order, must be distinct and must fit the smallint the server stores them in', () => {
  const ports = Array.from({ length: CLUSTER_PORT_COUNT }, (_, i) => 30_000 + i);
  const named = clusterPortsFrom(ports);
  assert.equal(named.frontend, 30_000);
  assert.equal(new Set(Object.values(named)).size, CLUSTER_PORT_COUNT);
  assert.throws(() => clusterPortsFrom([1, 1, 2, 3, 4, 5, 6, 7, 8]), /distinct/);
  assert.throws(() => clusterPortsFrom([1, 2]), /need 9/);
  assert.throws(() => clusterPortsFrom([...ports.slice(1), MAX_CLUSTER_PORT + 1]), /between 1 and 32767: 32768/);
  assert.throws(() => temporalClusterConfig({ ports: { ...named, workerMembership: 40_000 }, database, dynamicConfigFile: 'dc.yaml' }), /32767: 40000/);
});
