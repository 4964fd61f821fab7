import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { Registry } from 'prom-client';
import { setServerState } from '../../activities/adapters/haproxy';
import { startReplicationWatch, type ReplicationWatch } from '../../activities/replication-watch';
import { createLogger } from '../../observability/logger';
import { ReplicationFile } from '../../schemas/replication-spec';
import { waitFor } from '../../stack/wait-for';
import { startHaproxyFixture, type HaproxyFixture } from '../helpers/haproxy-fixture';
import { startTestStack, type TestStack } from '../helpers/stack';

let dir: string;
let src: string;
let replica: string;
let stack: TestStack;
let nc: NatsConnection;
let fx: HaproxyFixture;
let watch: ReplicationWatch;
const registry = new Registry();

before(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'replication-fence-'));
  src = join(dir, 'primary');
  replica = join(dir, 'standby');
  await mkdir(src);
  await writeFile(join(src, 'orders.db'), 'v1\n');
  fx = await startHaproxyFixture();
  stack = await startTestStack();
  nc = await stack.natsConnect('worker', { name: 'test-replication-fence' });
  const pairs = ReplicationFile.parse({
    store: { source: src, replica, service: 'store', target: 'store-replica', interval: '200ms', max_lag: '1s', fence: { haproxy: { socket: fx.socketPath, backend: fx.backend, server: 's1' } } },
  });
  watch = startReplicationWatch({ pairs, nc, registry, logger: createLogger('replication-fence-test', 'error'), lagCheckMs: 100 });
});

after(async () => {
  await watch?.stop();
  await nc?.close();
  await stack?.stop();
  await fx?.stop();
  await rm(dir, { recursive: true, force: true });
});

const replicaText = (): Promise<string> => readFile(join(replica, 'orders.db'), 'utf8').catch(() => '');
const gauge = async (name: string): Promise<number | undefined> => (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.pair === 'store')?.value;

test('copies run while the source server is in rotation', async () => {
  await waitFor('the replica to hold the source', 10_000, async () => (await replicaText()) === 'v1\n', 50);
  assert.equal(await gauge('runbook_replication_fenced'), 0);
});

test('once the source server is fenced (maint) copies stop, the lag grows past its bound without a fault, and they resume when it is back', async () => {
  await setServerState({ socket: fx.socketPath, backend: fx.backend, server: 's1', state: 'maint', dryRun: false });
  await waitFor('the watch to see the fence', 5_000, async () => watch.events.some((e) => e.type === 'fenced'), 50);
  // The replica is now the copy that may serve: a newer source must not reach it.
  await writeFile(join(src, 'orders.db'), 'v2 from a fenced primary\n');
  await waitFor('the lag to pass the one-second bound', 10_000, async () => ((await gauge('runbook_replication_lag_seconds')) ?? 0) > 1.5, 50);
  assert.equal(await replicaText(), 'v1\n', 'nothing was copied into the replica while the source was fenced');
  assert.equal(await gauge('runbook_replication_fenced'), 1);
  assert.equal(await gauge('runbook_replication_lagging'), 0);
  assert.equal(watch.events.filter((e) => e.type === 'lag_published').length, 0, 'no replication_lag fault while fenced');

  await setServerState({ socket: fx.socketPath, backend: fx.backend, server: 's1', state: 'ready', dryRun: false });
  await waitFor('copies to resume', 10_000, async () => (await replicaText()) === 'v2 from a fenced primary\n', 50);
  await waitFor('the lag to fall back under the bound', 5_000, async () => ((await gauge('runbook_replication_lag_seconds')) ?? 99) < 1, 50);
  assert.equal(await gauge('runbook_replication_fenced'), 0);
  assert.equal(watch.events.filter((e) => e.type === 'lag_published').length, 0);
});
