import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import { listSnapshots, takeSnapshot, verifySnapshot } from '../../activities/adapters/snapshots';
import { temporalConnectOptions } from '../../config/temporal-connection';
import { waitFor } from '../../stack/wait-for';
import type { IncidentState } from '../../schemas/incident-state';
import { incidentState } from '../../workflows/messages';
import { startTestStack, type TestStack } from '../helpers/stack';

const HOUR = 3_600_000;
const INCIDENT = 'incident/store/store-backups';

let dir: string;
let src: string;
let repo: string;
let stack: TestStack;
let connection: Connection;
let client: Client;
/** Snapshot ids taken before the stack starts, oldest first. */
let earlier: string[] = [];

/** A backup runbook for this test's directories: retention keeps two, so a third snapshot removes the oldest. */
function runbook(): string {
  return stringify({
    name: 'store-backup',
    version: 1,
    match: { kinds: ['backup_due', 'backup_stale'], services: ['store'] },
    params: { data_dir: src, backup_repository: repo },
    steps: [
      {
        id: 'snapshot',
        action: { kind: 'backup', source: '{{ params.data_dir }}/', repository: '{{ params.backup_repository }}', retention: { keep_last: 2 } },
        timeout: '1m',
      },
    ],
  });
}

async function metric(name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${stack.config.workerMetricsPort}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name}{repository="store"}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

before(async () => {
  dir = await mkdtemp(join(os.tmpdir(), 'backup-freshness-'));
  src = join(dir, 'data');
  repo = join(dir, 'backups');
  await mkdir(join(src, 'tables'), { recursive: true });
  await writeFile(join(src, 'tables', 'orders.db'), Buffer.alloc(50_000, 3));
  await writeFile(join(src, 'schema.sql'), 'create table orders;\n');
  // Two verified snapshots, three and two hours old: the newest is past the one-hour bound.
  for (const [i, age] of [3 * HOUR, 2 * HOUR].entries()) {
    const taken = await takeSnapshot({ source: `${src}/`, repository: repo, key: `earlier-${i}`, dryRun: false, timeoutMs: 30_000, now: () => Date.now() - age });
    assert.equal(taken.dryRun, false);
    if (!taken.dryRun) await verifySnapshot({ snapshot: taken.snapshot, timeoutMs: 30_000 });
  }
  earlier = (await listSnapshots(repo)).map((s) => s.id);
  await writeFile(join(src, 'schema.sql'), 'create table orders (id int);\n');
  const runbooksDir = join(dir, 'runbooks');
  await mkdir(runbooksDir);
  await writeFile(join(runbooksDir, 'store-backup.yaml'), runbook());
  const backupsFile = join(dir, 'backups.yaml');
  await writeFile(backupsFile, stringify({ store: { repository: repo, service: 'store', target: 'store-backups', max_age: '1h', check_every: '1s' } }));
  stack = await startTestStack({ worker: true, intake: true, overrides: { runbooksDir, backupsFile } });
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
});

after(async () => {
  await connection?.close();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a stale backup raises backup_stale, whose runbook takes a verified --link-dest snapshot; retention removes the oldest and freshness is exported', async () => {
  const handle = client.workflow.getHandle(INCIDENT);
  let state: IncidentState | undefined;
  await waitFor('the backup_stale incident to close', 90_000, async () => {
    state = await handle.query(incidentState).catch(() => undefined);
    return state?.closedAt !== undefined;
  }, 250);
  assert.ok(state);
  assert.equal(state.kind, 'backup_stale');
  assert.equal(state.runbook?.name, 'store-backup');
  assert.equal(state.outcome, 'healed', JSON.stringify(state.steps));
  const output = state.steps[0]?.output ?? {};

  const snapshots = await listSnapshots(repo);
  const newest = snapshots.at(-1);
  assert.ok(newest);
  assert.equal(output.snapshot, newest.id);
  assert.equal(newest.manifest.link_dest, earlier[1], 'linked against the newest earlier snapshot');
  assert.equal(newest.verification?.ok, true);
  assert.equal(output.verified, true);
  assert.equal(output.new_bytes, 'create table orders (id int);\n'.length, 'only the changed file is stored anew');
  const unchanged = await Promise.all([earlier[1], newest.id].map(async (id) => (await stat(join(repo, id ?? '', 'data', 'tables', 'orders.db'))).ino));
  assert.equal(unchanged[0], unchanged[1], 'the unchanged file is a hard link');
  // Retention (keep_last: 2) removed the oldest.
  assert.deepEqual(snapshots.map((s) => s.id), [earlier[1], newest.id]);
  assert.deepEqual(output.removed, [earlier[0]]);

  // Freshness: the gauge drops below the bound and the stale flag clears.
  // In a loaded run the snapshot count was still 3 (retention's removal not yet exported) once age and stale had cleared, so all three are waited for.
  await waitFor('the freshness gauges to show the new snapshot after retention', 30_000, async () => {
    const age = await metric('runbook_backup_age_seconds');
    return age !== undefined && age < 60 && (await metric('runbook_backup_stale')) === 0 && (await metric('runbook_backup_snapshots')) === 2;
  }, 250);
  assert.equal(await metric('runbook_backup_max_age_seconds'), 3600);
  assert.equal(await metric('runbook_backup_snapshots'), 2);
});
