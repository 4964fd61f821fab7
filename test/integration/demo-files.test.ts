import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseReplicationFile } from '../../config/replication';
import { parseServicesFile } from '../../config/services';
import { loadRunbookText } from '../../engine/load-runbook';
import { checksumTree, dataIdentical, renderHaproxyConfig, writeFleetFiles } from '../../demo/fleet-files';
import { demoLayout, STANDBY_PROGRAM, type DemoPorts } from '../../demo/layout';
import { renderReport, type DemoReport } from '../../demo/report';

const scratch = mkdtempSync(join(tmpdir(), 'demo-files-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ports: DemoPorts = { frontend: 20080, primary: 20081, standby: 20082, haproxyAdmin: 20089, workerMetrics: 20090 };

test('the demo files carry the run\'s ports and directories and load as the worker and intake would', async () => {
  const layout = demoLayout(join(scratch, 'run'), ports);
  await writeFleetFiles(layout);

  const loaded = loadRunbookText(readFileSync(layout.runbookFile, 'utf8'), layout.runbookFile);
  assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.errors));
  assert.equal(loaded.runbook.params.haproxy_socket, 'tcp://127.0.0.1:20089');
  assert.equal(loaded.runbook.params.primary_data_dir, layout.primaryDataDir);
  assert.equal(loaded.runbook.params.standby_data_dir, layout.standbyDataDir);

  const services = parseServicesFile(readFileSync(layout.servicesFile, 'utf8'), layout.servicesFile);
  assert.deepEqual(Object.keys(services).sort(), [STANDBY_PROGRAM, 'primary'].sort());
  assert.ok(services[STANDBY_PROGRAM]?.argv.includes(layout.standbyDataDir));

  const cfg = renderHaproxyConfig(layout);
  assert.match(cfg, /stats socket ipv4@127\.0\.0\.1:20089 level admin/);
  assert.match(cfg, /server standby 127\.0\.0\.1:20082 check backup$/m);
  assert.doesNotMatch(cfg, /disabled/, 'a config-disabled server could not be restored at run time');
});

test('the standby starts with different data, which a comparison reports', async () => {
  const layout = demoLayout(join(scratch, 'compare'), ports);
  await writeFleetFiles(layout);
  assert.equal((await dataIdentical(layout.primaryDataDir, layout.standbyDataDir)).identical, false);
  assert.deepEqual(Object.keys(await checksumTree(layout.standbyDataDir)), ['model.json', 'retired-model.json']);
});

test('a hot standby follows the primary through the replication file, fenced on the primary in HAProxy; a cold one does not', async () => {
  const hot = demoLayout(join(scratch, 'hot'), ports);
  await writeFleetFiles(hot);
  const pair = parseReplicationFile(await readFile(hot.replicationFile, 'utf8'), hot.replicationFile).primary;
  assert.equal(pair?.source, hot.primaryDataDir);
  assert.equal(pair?.replica, hot.standbyDataDir);
  assert.deepEqual(pair?.fence?.haproxy, { socket: hot.haproxySocket, backend: 'demo', server: 'primary' });
  assert.ok(existsSync(hot.replicationRunbookFile));
  const cold = demoLayout(join(scratch, 'cold'), ports);
  await writeFleetFiles(cold, { standby: 'cold' });
  assert.equal(existsSync(cold.replicationFile), false);
});

test('the report shows the timeline relative to the injection and the measured times', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const report: DemoReport = {
    scenario: 'crash',
    description: 'kill it',
    rounds: [
      {
        injection: 'SIGKILL sent to the primary',
        injectedAt: t0,
        detectedAt: t0 + 300,
        failedRequests: 12,
        trafficRestoredAt: t0 + 3_500,
        healedAt: t0 + 5_000,
        latency: { steady: { requests: 40, p50Ms: 2, p99Ms: 4, maxMs: 5 }, failover: { requests: 100, p50Ms: 3, p99Ms: 110, maxMs: 120 } },
        incident: {
          incidentId: 'incident/demo/primary',
          runId: 'r1',
          status: 'resolved',
          outcome: 'healed',
          openedAt: t0 + 320,
          closedAt: t0 + 5_000,
          steps: [{ id: 'isolate_primary', kind: 'isolate', status: 'succeeded', attempts: 1, summary: 'ready -> maint' }],
          approvalWaitMs: 1_000,
          uiUrl: 'http://127.0.0.1:8233/namespaces/runbooks/workflows/incident%2Fdemo%2Fprimary/r1/history',
          auditCommand: 'npx runbook audit incident/demo/primary',
        },
      },
    ],
    timeline: [
      { at: t0 + 300, what: 'fault published' },
      { at: t0, what: 'SIGKILL sent' },
    ],
    load: { sent: 100, ok: 88, failed: 12, stale: 0, byInstance: { primary: 40, standby: 48 } },
    data: { identical: true, files: 2, digest: 'abc' },
    servers: { primary: { admin: 'ready', operational: 'up' } },
    verdict: 'Healed.',
  };
  const text = renderReport(report);
  assert.match(text, /\+\s+0\.00s {2}SIGKILL sent\n.*\+\s+0\.30s {2}fault published/);
  assert.match(text, /time to detect\s+0\.30 s/);
  assert.match(text, /time to traffic restored\s+3\.50 s/);
  assert.match(text, /time to fully healed\s+5\.00 s \(1\.00 s of it waiting for approval\)/);
  assert.match(text, /failed requests\s+12/);
  assert.match(text, /added latency \(p99\)\s+106 ms: p99 110 ms \(max 120 ms\) over 100 requests during failover, p99 4 ms steady/);
  assert.match(text, /identical on primary and standby/);
  assert.match(text, /Temporal UI\s+http:\/\/127\.0\.0\.1:8233\/namespaces\/runbooks\/workflows\/incident%2Fdemo%2Fprimary\/r1\/history/);
  assert.match(text, /audit\s+npx runbook audit incident\/demo\/primary/);
});
