import type { DrillReport } from '../../schemas/drill-report';

/** A time `s` seconds after 2026-04-01T10:00:00Z. */
export const drillTime = (s: number, base = '2026-04-01T10:00:00.000Z'): string => new Date(Date.parse(base) + s * 1000).toISOString();

/** A passed drill of the model fleet's failover, fault at 10 s; `overrides` replace top-level fields. */
export function exampleDrillReport(overrides: Partial<DrillReport> = {}, base?: string): DrillReport {
  const at = (s: number): string => drillTime(s, base);
  const stamp = at(0).replace(/[-:.]/g, '');
  return {
    drillId: `drill/model/m1/model-failover/${stamp}`,
    runbook: { name: 'model-failover', version: 3, hash: 'sha256:abc' },
    service: 'model',
    target: 'm1',
    dryRun: false,
    approval: { by: 'dora', at: at(2), reason: 'quarterly drill', channel: 'http' },
    requestedBy: 'olga',
    startedAt: at(0),
    endedAt: at(60),
    temporalUiUrl: 'http://localhost:8233/namespaces/runbooks/workflows/drill%2Fmodel%2Fm1',
    incident: {
      incidentId: 'incident/model/m1',
      runId: 'run-1',
      status: 'resolved',
      outcome: 'healed',
      openedAt: at(11),
      closedAt: at(30),
      auditCommand: 'runbook audit incident/model/m1',
    },
    incidentAudit: { incidentId: 'incident/model/m1', status: 'resolved' },
    timeline: [
      { at: at(2), what: 'approved by dora' },
      { at: at(5), what: 'canary started' },
      { at: at(10), what: 'fault injected: kill_process SIGKILL' },
      { at: at(11), what: 'incident incident/model/m1 opened' },
      { at: at(30), what: 'incident resolved' },
      { at: at(40), what: 'restore: fail-back succeeded' },
    ],
    measurements: {
      faultAt: at(10),
      detectedAt: at(11),
      trafficRestoredAt: at(14),
      healedAt: at(30),
      rtoMs: 4_000,
      healMs: 20_000,
      rpoMs: 1_000,
      failedRequests: 2,
      requestsSent: 500,
      canary: { written: 50, writeFailures: 1, newestBeforeFault: { seq: 10, at: at(9.5) }, newestOnServing: { seq: 9, at: at(9) }, presentOnServing: 9, lost: 1 },
    },
    objectives: { rto: '30s', rpo: '10s', failed_requests: 20 },
    grades: [
      { objective: 'rto', target: '30s', measured: '4.0s', pass: true },
      { objective: 'rpo', target: '10s', measured: '1.0s', pass: true },
      { objective: 'failed_requests', target: '20', measured: '2', pass: true },
      { objective: 'healed', target: 'resolved', measured: 'resolved', pass: true },
      { objective: 'restored', target: 'restored', measured: 'restored', pass: true },
    ],
    restored: {
      ok: true,
      steps: [{ id: 'fail-back', status: 'succeeded', summary: 'm1 serving again' }],
      checks: [{ target: 'http://127.0.0.1:8081/health', ok: true }],
    },
    result: 'passed',
    reasons: [],
    ...overrides,
  };
}
