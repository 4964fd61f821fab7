import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Ajv2020 from 'ajv/dist/2020';
import { readAuditEvents } from '../../audit/audit-stream';
import { signDecision } from '../../engine/decision-signature';
import { readDecisionKey, decisionKeyPath } from '../../config/decision-key';
import { runDrillDemo } from '../../demo/drill-demo';
import { DRILL_DECISION_STEP } from '../../schemas/drill-input';
import type { DrillReport } from '../../schemas/drill-report';
import { PROJECT_ROOT } from '../../stack/toolchain';
import type { IncidentResult } from '../../schemas/incident-state';
import { decideDrill } from '../../workflows/messages';
import { startTestStack, type TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

/*
 * Drills of the demo fleet's failover on the real stack: the drill group
 * approves (and someone outside it is refused), the canary writes through
 * HAProxy, the primary is killed, the ordinary incident heals it, RTO and RPO
 * are measured, the starting state is restored, and the report is filed in
 * the audit stream and validates against docs/schemas/drill-report.schema.json.
 */

let stack: TestStack;

const validate = new Ajv2020({ strict: false, allErrors: true }).compile(JSON.parse(readFileSync(join(PROJECT_ROOT, 'docs', 'schemas', 'drill-report.schema.json'), 'utf8')) as object);

before(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const rosterFile = join(mkdtempSync(join(tmpdir(), 'drill-roster-')), 'roster.yaml');
  // carol runs drills; alice (and the demo, which answers the fail-back) are on call; mallory is neither.
  writeFileSync(rosterFile, 'groups:\n  drills:\n    members: [carol]\n  oncall:\n    members: [alice, demo]\n  sre-leads:\n    members: [alice]\n');
  stack = await startTestStack({ intake: true, overrides: { rosterFile } });
});

after(async () => {
  await stack?.stop();
});

async function decideAs(client: Client, drillId: string, by: string): Promise<unknown> {
  const key = readDecisionKey(decisionKeyPath(stack.config));
  const reason = 'trying to run a drill';
  const signature = signDecision(key, { purpose: 'decision', incidentId: drillId, step: DRILL_DECISION_STEP, verdict: 'approve', by, channel: 'http', reason });
  return client.workflow.getHandle(drillId).executeUpdate(decideDrill, { args: [{ verdict: 'approve', by, channel: 'http', reason, signature }] });
}

function assertValid(report: DrillReport): void {
  assert.ok(validate(report), `the report validates against docs/schemas/drill-report.schema.json: ${JSON.stringify(validate.errors)}`);
}

test('a drill of the demo failover: approved by the drill group only, canary and fault, healed, RTO and RPO measured, restored, a report that validates', { timeout: 8 * 60_000 }, async () => {
  const demoDir = join(stack.config.stateDir, 'demo-drill');
  let refusal: string | undefined;
  const report = await runDrillDemo(
    { config: stack.config, demoDir, autoApprove: true },
    {
      beforeApproval: async (client, drillId, state) => {
        assert.deepEqual(state.approvers, ['drills']);
        assert.deepEqual(state.members, ['carol']);
        await assert.rejects(decideAs(client, drillId, 'mallory'), (err: unknown) => {
          assert.ok(err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure);
          refusal = err.cause.type ?? undefined;
          return true;
        });
        // An on-call approver may approve incidents, not drills.
        await assert.rejects(decideAs(client, drillId, 'alice'), WorkflowUpdateFailedError);
      },
    },
  );
  assert.equal(refusal, 'NotAnApprover');
  assertValid(report);
  assert.equal(report.result, 'passed', `reasons: ${report.reasons.join('; ')}; grades: ${JSON.stringify(report.grades)}`);
  assert.deepEqual(report.approval && 'by' in report.approval ? [report.approval.by, report.approval.channel] : undefined, ['carol', 'demo']);
  const m = report.measurements;
  assert.ok(m.faultAt && m.detectedAt && m.healedAt, 'fault, detection and heal times');
  assert.ok(Date.parse(m.detectedAt) >= Date.parse(m.faultAt) - 2_000, 'detected after the fault');
  assert.ok(Date.parse(m.healedAt) > Date.parse(m.detectedAt), 'healed after detection');
  assert.equal(typeof m.rtoMs, 'number');
  assert.equal(typeof m.rpoMs, 'number');
  assert.ok((m.canary?.written ?? 0) >= 3, 'the canary wrote records before and after the fault');
  assert.ok(m.canary?.newestOnServing, 'the serving side holds canary records');
  assert.equal(m.canary?.lost, 0, 'no record acknowledged before the fault is missing after the heal');
  assert.equal(m.failedRequests, 0, 'the hot standby answered every request of the load probe');
  assert.ok((m.requestsSent ?? 0) > 0);
  assert.equal(report.incident?.status, 'resolved');
  assert.equal(report.restored.ok, true);
  assert.deepEqual(report.restored.steps.map((s) => [s.id, s.status]), [['start_primary', 'succeeded'], ['primary_in_rotation', 'succeeded']]);
  for (const objective of ['rto', 'heal', 'rpo', 'failed_requests', 'data_loss', 'healed', 'restored']) {
    assert.equal(report.grades.find((g) => g.objective === objective)?.pass, true, `${objective} graded and passed`);
  }

  const { Client: TemporalClient, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect(await temporalConnectOptions(stack.config));
  try {
    const client = new TemporalClient({ connection, namespace: stack.config.namespace });
    // The demo's worker is gone with the demo, so the closed incident's result is read from its history.
    const incident = (await client.workflow.getHandle(report.incident?.incidentId ?? '', report.incident?.runId).result()) as IncidentResult;
    assert.equal(incident.state.drill?.drillId, report.drillId, 'the incident knows it was a drill');
    const marked = await client.workflow.count(`drill = '${report.drillId}'`);
    assert.equal(marked.count, 1, 'the incident is found by its drill search attribute');
  } finally {
    await connection.close();
  }
  const nc = await stack.natsConnect('admin');
  try {
    const events = await readAuditEvents(nc, report.drillId);
    const filed = events.filter((e) => e.event === 'drill.report' && e.incidentId === report.drillId);
    assert.equal(filed.length, 1, 'the report is kept in the audit stream once');
    assertValid(filed[0]?.['report'] as DrillReport);
    assert.ok(events.some((e) => e.event === 'incident.drill' && e['drillId'] === report.drillId), 'the incident\'s drill marker is in the audit stream');
  } finally {
    await nc.close();
  }
});

test('a drill whose incident fails still restores the starting state, and its report says so and grades it failed', { timeout: 8 * 60_000 }, async () => {
  const demoDir = join(stack.config.stateDir, 'demo-drill-fails');
  // The drill is approved; the incident's fail-back is rejected, so the incident ends without healing.
  const report = await runDrillDemo({ config: stack.config, demoDir, autoApprove: false, ask: (q) => Promise.resolve(q.startsWith('approve drill')) });
  assertValid(report);
  assert.equal(report.result, 'failed');
  assert.notEqual(report.incident?.status, 'resolved');
  assert.equal(report.grades.find((g) => g.objective === 'healed')?.pass, false);
  assert.equal(report.restored.ok, true, `restored: ${JSON.stringify(report.restored)}`);
  assert.ok(report.restored.checks.length >= 2 && report.restored.checks.every((c) => c.ok), 'the steady-state checks pass again after the restore');
  assert.ok(report.restored.steps.every((s) => s.status === 'succeeded'));
  assert.ok(report.reasons.length > 0, 'the report says why it failed');
});
