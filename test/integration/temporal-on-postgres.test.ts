import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../config/config';
import { decisionKeyPath, ensureDecisionKey } from '../../config/decision-key';
import { connectNats } from '../../config/nats-connect';
import { credentialsDir, ensureNatsCredentials } from '../../config/nats-credentials';
import { createLogger } from '../../observability/logger';
import type { ManagedProcess } from '../../stack/managed-process';
import { startNatsServer } from '../../stack/nats-server';
import { freePorts } from '../../stack/ports';
import { startPostgres, type PostgresServer } from '../../stack/postgres';
import { freeClusterPorts, type ClusterPorts } from '../../stack/cluster-ports';
import { startTemporalClusterServer } from '../../stack/temporal-cluster-server';
import { applyTemporalSchemas, schemaVersion, type SchemaResult } from '../../stack/temporal-schema';
import { temporalPostgresSchemaDir } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { oneCommandRunbook, runsOf, startEngineHarness, testFault, type EngineHarness } from '../helpers/engine';
import { alive } from '../helpers/processes';
import { provisionWithConfig } from '../../workers/provision';

const NAMESPACE = 'runbooks';

let stateDir: string;
let ports: ClusterPorts;
let pg: PostgresServer | undefined;
let temporal: ManagedProcess | undefined;
let nats: ManagedProcess | undefined;
let h: EngineHarness | undefined;
let firstSchemas: SchemaResult[];

/** The newest version among a schema's versioned directories (`v1.9`, `v1.19`, …). */
function newestShipped(schema: 'temporal' | 'visibility'): string {
  const versions = readdirSync(join(temporalPostgresSchemaDir(), schema, 'versioned')).map((d) => d.replace(/^v/, ''));
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1) ?? '';
}

async function stopAll(): Promise<void> {
  await h?.close();
  if (h) rmSync(h.scratch, { recursive: true, force: true });
  h = undefined;
  await temporal?.stop();
  await nats?.stop();
  await pg?.stop();
}

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'temporal-on-postgres-'));
  const [pgPort, natsPort, natsMonitorPort] = await freePorts(3);
  ports = await freeClusterPorts();
  pg = await startPostgres({ stateDir, port: pgPort ?? 0 });
  firstSchemas = await applyTemporalSchemas(pg.endpoint);
  temporal = await startTemporalClusterServer({ stateDir, ports, database: pg.endpoint, namespace: NAMESPACE });
  const users = ensureNatsCredentials(credentialsDir(stateDir));
  nats = await startNatsServer({ stateDir, port: natsPort ?? 0, monitorPort: natsMonitorPort ?? 0, users });
  const config = loadConfig({ stateDir, temporalAddress: `127.0.0.1:${ports.frontend}`, natsPort, natsMonitorPort, namespace: NAMESPACE }, {});
  await provisionWithConfig(config, createLogger('provision', 'warn'));
  ensureDecisionKey(decisionKeyPath(config));
  h = await startEngineHarness({ config, natsConnect: (role, extras) => connectNats(config, role, extras) });
});

after(async () => {
  await stopAll();
  rmSync(stateDir, { recursive: true, force: true });
});

test('setup creates both databases at the newest schema version the server ships', () => {
  assert.deepEqual(
    firstSchemas.map(({ database, created, version }) => ({ database, created, version })),
    [
      { database: 'temporal', created: true, version: newestShipped('temporal') },
      { database: 'temporal_visibility', created: true, version: newestShipped('visibility') },
    ],
  );
});

test('applying the schemas again creates nothing and leaves the versions as they were', async () => {
  assert.ok(pg);
  const again = await applyTemporalSchemas(pg.endpoint);
  assert.deepEqual(again, firstSchemas.map((r) => ({ ...r, created: false })));
  assert.equal(await schemaVersion(pg.endpoint, 'temporal'), firstSchemas[0]?.version);
});

test('an incident runs to the end through the Temporal server on PostgreSQL and is found by its search attributes', { timeout: 180_000 }, async () => {
  assert.ok(h);
  const log = join(h.scratch, 'cluster.log');
  const handle = await h.start(oneCommandRunbook('on-postgres', log), testFault('on-postgres', 'node-1'));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.outcome, 'healed');
  assert.equal(runsOf(log, 'act'), 1);
  // The visibility store (temporal_visibility) answers queries on the product's attributes.
  const client = h.client;
  const found = async (query: string): Promise<string[]> => {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids;
  };
  await waitFor('the incident in visibility', 30_000, async () => (await found(`incidentStatus = 'resolved'`)).includes(handle.workflowId), 500).catch(async (err: unknown) => {
    const all = [];
    for await (const wf of client.workflow.list()) all.push({ id: wf.workflowId, status: wf.status.name, attributes: wf.searchAttributes });
    throw new Error(`${String(err)}; visibility holds ${JSON.stringify(all)}`);
  });
});

test('stopping the servers by pid leaves none of their processes behind', { timeout: 120_000 }, async () => {
  const pids = [pg?.proc.pid, temporal?.pid, nats?.pid].filter((pid): pid is number => typeof pid === 'number');
  assert.equal(pids.length, 3);
  await stopAll();
  for (const pid of pids) {
    assert.equal(alive(pid), false, `process ${pid} is still running`);
    // Each ran as the leader of its own group; nothing it started (PostgreSQL's backends) outlives it.
    assert.throws(() => process.kill(-pid, 0), `process group ${pid} still has members`);
  }
});
