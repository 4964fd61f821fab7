import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { stringify } from 'yaml';
import { temporalConnectOptions } from '../../config/temporal-connection';
import { checksumTree } from '../../demo/fleet-files';
import { FAULTS_STREAM } from '../../intake/streams';
import { waitFor } from '../../stack/wait-for';
import type { IncidentState } from '../../schemas/incident-state';
import { incidentState } from '../../workflows/messages';
import { natsFor } from '../helpers/intake-harness';
import { startTestStack, type TestStack } from '../helpers/stack';

const INCIDENT = 'incident/store/store-replica';
const MAX_LAG_SECONDS = 3;

let dir: string;
let src: string;
let replica: string;
let stack: TestStack;
let connection: Connection;
let client: Client;
let nc: NatsConnection;

/** A replication runbook for this test's directories: the shipped one's resync step. */
function runbook(): string {
  return stringify({
    name: 'store-replication',
    version: 1,
    match: { kinds: ['replication_lag'], services: ['store'] },
    params: { source_dir: src, replica_dir: replica },
    steps: [
      {
        id: 'resync',
        action: { kind: 'sync_data', rsync: { source: '{{ params.source_dir }}/', destination: '{{ params.replica_dir }}/', delete: true } },
        unfenced: true,
        timeout: '1m',
        retry: { max_attempts: 30, initial_interval: '1s', backoff: 1 },
      },
    ],
  });
}

async function metric(name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${stack.config.workerMetricsPort}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}{pair="store"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

/** The newest replication_lag fault of the pair stored in FAULTS, as the intake reads it. */
async function newestFault(): Promise<Record<string, unknown> | undefined> {
  const m = await (await nc.jetstreamManager()).streams.getMessage(FAULTS_STREAM, { last_by_subj: 'faults.store.replication_lag' }).catch(() => undefined);
  return m ? (JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>) : undefined;
}

/** Root ignores permission bits, so the replica is blocked with the immutable attribute (ext4 and most local file systems). */
function immutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path]);
}

before(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'replication-'));
  src = join(dir, 'primary');
  replica = join(dir, 'standby');
  await mkdir(join(src, 'tables'), { recursive: true });
  await mkdir(replica);
  await writeFile(join(src, 'tables', 'orders.db'), Buffer.alloc(50_000, 3));
  await writeFile(join(src, 'schema.sql'), 'create table orders;\n');
  await writeFile(join(replica, 'leftover.tmp'), 'not in the source\n');
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  await writeFile(join(runbooksDir, 'store-replication.yaml'), runbook());
  const replicationFile = join(dir, 'replication.yaml');
  await writeFile(replicationFile, stringify({ store: { source: src, replica, service: 'store', target: 'store-replica', interval: '300ms', max_lag: `${MAX_LAG_SECONDS}s` } }));
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir, replicationFile } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
  nc = await natsFor(stack);
});

after(async () => {
  try {
    immutable(replica, false);
  } catch {
    // never set, or the directory is gone
  }
  await nc?.close();
  await connection?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Whether the replica holds exactly the source; a file that vanished mid-walk (rsync replacing or deleting it) means not yet. */
const same = async (): Promise<boolean> => {
  try {
    return JSON.stringify(await checksumTree(src)) === JSON.stringify(await checksumTree(replica));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
};

test('the replica follows every change of its source, and its lag stays under the bound', async () => {
  await waitFor('the replica to hold exactly the source', 30_000, same, 100);
  await writeFile(join(src, 'schema.sql'), 'create table orders (id int);\n');
  await writeFile(join(src, 'tables', 'customers.db'), Buffer.alloc(10_000, 7));
  await unlink(join(src, 'tables', 'orders.db'));
  await waitFor('the replica to follow the change', 10_000, same, 100);
  const lag = await metric('runbook_replication_lag_seconds');
  assert.ok(lag !== undefined && lag < MAX_LAG_SECONDS, `lag ${lag}`);
  assert.equal(await metric('runbook_replication_max_lag_seconds'), MAX_LAG_SECONDS);
  const last = await metric('runbook_replication_last_success_timestamp_seconds');
  assert.ok(last !== undefined && Math.abs(Date.now() / 1000 - last) < MAX_LAG_SECONDS, `last success ${last}`);
  assert.equal(await metric('runbook_replication_lagging'), 0);
});

test('a blocked replica raises the lag past its bound and a replication_lag fault whose runbook resyncs; the fault resolves once copies catch up', async () => {
  immutable(replica, true);
  await writeFile(join(src, 'schema.sql'), 'create table orders (id int, total int);\n');
  await waitFor('the lag gauge to pass the bound', 30_000, async () => ((await metric('runbook_replication_lag_seconds')) ?? 0) > MAX_LAG_SECONDS, 200);
  const handle = client.workflow.getHandle(INCIDENT);
  let state: IncidentState | undefined;
  await waitFor('the replication_lag incident to run its runbook', 60_000, async () => {
    state = await handle.query(incidentState).catch(() => undefined);
    return state?.runbook !== undefined;
  }, 200);
  assert.equal(state?.kind, 'replication_lag');
  const fired = await newestFault();
  assert.equal(fired?.status, 'firing');
  assert.equal(fired?.source, 'replication');
  assert.equal((fired?.labels as Record<string, string> | undefined)?.pair, 'store');
  assert.equal(state?.runbook?.name, 'store-replication');
  assert.equal(await metric('runbook_replication_lagging'), 1);
  assert.ok(((await metric('runbook_replication_failures_total')) ?? 0) > 0);
  assert.equal(await same(), false, 'nothing reached the blocked replica');

  // The cause goes away: the runbook's resync (retrying meanwhile) and the watch's copies get through.
  immutable(replica, false);
  await waitFor('the incident to close', 90_000, async () => {
    state = await handle.query(incidentState).catch(() => undefined);
    return state?.closedAt !== undefined;
  }, 250);
  assert.ok(state);
  assert.equal(state.outcome, 'healed', JSON.stringify(state.steps));
  assert.equal(state.steps[0]?.output?.verified, true);
  assert.equal(await same(), true);
  await waitFor('the watch to publish the fault resolved', 30_000, async () => (await newestFault())?.status === 'resolved' && (await metric('runbook_replication_lagging')) === 0, 250);
  const lag = await metric('runbook_replication_lag_seconds');
  assert.ok(lag !== undefined && lag < MAX_LAG_SECONDS, `lag ${lag}`);
});
