import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ENV, loadConfig, natsReplicasFor, natsServerList } from '../../config/config';
import { natsConnectOptions } from '../../config/nats-connect';
import { credentialsDir, ensureNatsCredentials } from '../../config/nats-credentials';

test('RUNBOOK_NATS_URL takes a comma-separated list of servers', () => {
  const c = loadConfig({}, { [ENV.natsUrl]: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222,tls://10.0.0.3:4222' });
  assert.deepEqual(natsServerList(c.natsUrl), ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222', 'tls://10.0.0.3:4222']);
});

test('a bad entry is refused naming the variable and the entry', () => {
  for (const [value, entry] of [['nats://a:1,http://b:2', 'entry 2 of 2 ("http://b:2")'], ['nats://a:1,,nats://c:3', 'entry 2 of 3 ("")'], ['nats://a:1 nats://b:2', 'entry 1 of 1']] as const) {
    assert.throws(
      () => loadConfig({}, { [ENV.natsUrl]: value }),
      (err: unknown) => err instanceof ConfigError && err.message.includes('RUNBOOK_NATS_URL') && err.message.includes(entry),
      value,
    );
  }
});

test('connections get every server of the list', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'nats-list-'));
  ensureNatsCredentials(credentialsDir(stateDir), 4);
  const config = loadConfig({ stateDir }, { [ENV.natsUrl]: 'nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3' });
  assert.deepEqual(natsConnectOptions(config, 'producer').servers, ['nats://127.0.0.1:1', 'nats://127.0.0.1:2', 'nats://127.0.0.1:3']);
  assert.deepEqual(natsConnectOptions(loadConfig({ stateDir }, {}), 'producer').servers, ['nats://127.0.0.1:4222']);
});

test('provisioning keeps 3 copies on a cluster unless told otherwise, 1 on one server', () => {
  assert.equal(natsReplicasFor(loadConfig({}, {})), 1);
  assert.equal(natsReplicasFor(loadConfig({}, { [ENV.natsUrl]: 'nats://a:1,nats://b:2,nats://c:3' })), 3);
  assert.equal(natsReplicasFor(loadConfig({}, { [ENV.natsUrl]: 'nats://a:1,nats://b:2,nats://c:3', [ENV.natsReplicas]: '1' })), 1);
  assert.throws(() => loadConfig({}, { [ENV.natsReplicas]: '0' }), /RUNBOOK_NATS_REPLICAS/);
});
