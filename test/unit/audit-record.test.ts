import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AuditRecord, renderAuditJsonSchema } from '../../audit/audit-record';
import { buildAuditRecord, redact } from '../../audit/build-audit';
import { renderAuditText } from '../../audit/render-audit';
import type { IncidentState } from '../../schemas/incident-state';

const root = join(__dirname, '..', '..');

function closedState(): IncidentState {
  const fault = { id: 'e1', source: 't', service: 'app', target: 'n1', kind: 'node_down', severity: 'critical', status: 'firing', observedAt: '2026-01-01T00:00:00.000Z', labels: {}, annotations: {} } as unknown as IncidentState['firstFault'];
  return {
    incidentId: 'incident/app/n1',
    service: 'app',
    target: 'n1',
    kind: 'node_down',
    status: 'aborted',
    outcome: 'approval reject at isolate',
    runbook: { name: 'rb', version: 1, hash: 'h' },
    dryRun: false,
    openedAt: '2026-01-01T00:00:00.000Z',
    closedAt: '2026-01-01T00:00:10.000Z',
    faults: { count: 1, firstEventId: 'e1', lastEventId: 'e1', firstSeen: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:00.000Z', severity: 'critical', recentEventIds: ['e1'], resolvedSignals: 0 },
    steps: [
      { id: 'confirm', kind: 'confirm', status: 'succeeded', attempts: [], startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.000Z', durationMs: 2000, output: { confirmed: true } },
      { id: 'isolate', kind: 'isolate', status: 'skipped', attempts: [], skipReason: 'approval reject' },
    ],
    compensations: [],
    requests: [
      {
        requestId: 'r1', type: 'approval', step: 'isolate', reason: 'risky', approvers: ['oncall'], requestedAt: '2026-01-01T00:00:03.000Z', decidedAt: '2026-01-01T00:00:09.000Z', outcome: 'reject',
        decisions: [{ by: 'bob', channel: 'http', reason: 'no', at: '2026-01-01T00:00:09.000Z', verdict: 'reject', accepted: true }],
      },
    ],
    epoch: 0,
    firstFault: fault,
  };
}

describe('audit record', () => {
  test('the published JSON Schema is the one generated from the AuditRecord schema', () => {
    assert.equal(readFileSync(join(root, 'docs', 'schemas', 'audit.schema.json'), 'utf8'), renderAuditJsonSchema());
  });

  test('a refused attempt only the audit stream saw is merged into its request, once', () => {
    const refused = { event: 'decision.refused', incidentId: 'incident/app/n1', at: '2026-01-01T00:00:09.500Z', by: 'alice', channel: 'http', verdict: 'approve', reason: 'race', step: 'isolate', refusal: 'StaleDecision', note: 'stale: the request was already decided' };
    const record = buildAuditRecord({ state: closedState(), runId: 'run', faultEventIds: ['e1'], streamEvents: [refused, { ...refused, event: 'decision.accepted' }] });
    const decisions = record.requests[0]?.decisions ?? [];
    assert.deepEqual(decisions.map((d) => [d.by, d.accepted, d.source]), [['bob', true, 'history'], ['alice', false, 'audit-stream']]);
    assert.equal(decisions[1]?.note, 'stale: the request was already decided');
    assert.equal(record.timings.toConfirmMs, 2000);
    assert.equal(record.timings.toIsolateMs, null);
    assert.equal(record.timings.toRecoverMs, null, 'an aborted incident did not recover');
    assert.doesNotThrow(() => AuditRecord.parse(JSON.parse(JSON.stringify(record))));
    assert.match(renderAuditText(record), /REFUSED  approve by alice via http .*\[stale: the request was already decided\]/);
  });

  test('secret-looking values are redacted and secret references are kept', () => {
    const input = { kind: 'command', argv: ['x'], env: { DB_PASSWORD: 'p', HOST: 'h' }, headers: { Authorization: 'Bearer x' }, secrets: { TOKEN: { env: 'APP_TOKEN' } } };
    assert.deepEqual(redact(input), { kind: 'command', argv: ['x'], env: { DB_PASSWORD: '[redacted]', HOST: 'h' }, headers: { Authorization: '[redacted]' }, secrets: { TOKEN: { env: 'APP_TOKEN' } } });
  });
});
