import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readAuditEvents } from '../../audit/audit-stream';
import { DRILL_WORKFLOW, type DrillInput } from '../../schemas/drill-input';
import type { DrillReport } from '../../schemas/drill-report';
import { waitFor } from '../../stack/wait-for';
import { drillState } from '../../workflows/messages';
import { runbookFrom } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';

/*
 * A drill's approval through the approval API: only the drill group's
 * members may approve (an on-call approver and a stranger are refused with
 * 403), a malformed body is refused naming the field, a second decision is
 * stale, and every attempt is in the audit stream. The drill is a dry run, so
 * it breaks nothing.
 */

let env: EngineStack;

before(async () => {
  env = await startEngineStack({
    roster: 'groups:\n  drills:\n    members: [carol]\n  oncall:\n    members: [alice]\n  sre-leads:\n    members: [alice]\n',
    users: ['carol', 'alice', 'mallory'],
    auditToStream: true,
  });
});

after(async () => {
  await env?.close();
});

function post(path: string, who: string, body: unknown): Promise<Response> {
  return fetch(`${env.apiUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${env.tokens[who] ?? 'none'}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

test('only a member of the drill group approves a drill through the API; refusals name why and are audited', { timeout: 120_000 }, async () => {
  const dir = join(env.dir, 'drill-api');
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'file'), 'kept: this drill is a dry run');
  const runbook = runbookFrom(`
name: api-drill
version: 1
match: { kinds: [api_drill] }
drill:
  fault: { kind: delete_data, path: ${dir}/data }
steps:
  - id: note
    action: { kind: wait, duration: 1s }`);
  const drillId = 'drill/api/node-1/api-drill/2026-12-02T00-00-00-000Z';
  const input: DrillInput = { drillId, runbook, service: 'api', target: 'node-1', dryRun: true };
  const handle = await env.h.client.workflow.start(DRILL_WORKFLOW, { workflowId: drillId, taskQueue: env.h.taskQueue, args: [input] });
  await waitFor('the drill to wait for approval', 30_000, async () => (await handle.query(drillState).catch(() => undefined))?.approvalTimeoutAt !== undefined, 100);
  const path = `/drills/${encodeURIComponent(drillId)}/decisions`;

  const stranger = await post(path, 'mallory', { verdict: 'approve', reason: 'why not' });
  assert.equal(stranger.status, 403);
  assert.equal(((await stranger.json()) as { refusal?: string }).refusal, 'NotAnApprover');
  const oncall = await post(path, 'alice', { verdict: 'approve', reason: 'I am on call' });
  assert.equal(oncall.status, 403, 'approving incidents does not let anyone approve drills');
  const noReason = await post(path, 'carol', { verdict: 'approve' });
  assert.equal(noReason.status, 400);
  assert.match(((await noReason.json()) as { error: string }).error, /reason/);
  assert.equal((await post(`/drills/${encodeURIComponent('drill/api/node-1/api-drill/none')}/decisions`, 'carol', { verdict: 'approve', reason: 'x' })).status, 404);
  assert.equal((await post('/drills/not-a-drill/decisions', 'carol', { verdict: 'approve', reason: 'x' })).status, 404);

  const ok = await post(path, 'carol', { verdict: 'approve', reason: 'quarterly rehearsal' });
  assert.equal(ok.status, 200, await ok.clone().text());
  const report = (await handle.result()) as DrillReport;
  assert.equal(report.result, 'passed', report.reasons.join('; '));
  assert.deepEqual(report.approval && 'by' in report.approval ? [report.approval.by, report.approval.channel, report.approval.reason] : undefined, ['carol', 'http', 'quarterly rehearsal']);
  const again = await post(path, 'carol', { verdict: 'reject', reason: 'changed my mind' });
  assert.equal(again.status, 409, 'a decided drill takes no further decision');

  const state = await fetch(`${env.apiUrl}/drills/${encodeURIComponent(drillId)}`, { headers: { authorization: `Bearer ${env.tokens['alice'] ?? ''}` } });
  assert.equal(state.status, 200);
  assert.equal(((await state.json()) as { phase: string }).phase, 'done');

  const events = await readAuditEvents(env.nc, drillId);
  const decisions = events.filter((e) => e.incidentId === drillId && e.event.startsWith('drill.decision.')).map((e) => [e.event, e['by']]);
  assert.deepEqual(decisions, [
    ['drill.decision.refused', 'mallory'],
    ['drill.decision.refused', 'alice'],
    ['drill.decision.accepted', 'carol'],
    ['drill.decision.refused', 'carol'],
  ]);
  assert.equal(events.filter((e) => e.event === 'drill.report').length, 1);
});
