import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApprovalActivities } from '../../activities/notify-approvals';
import { renderIncident } from '../../cli/commands/show';
import { ConfigError } from '../../config/config';
import { escalationChainAt, loadRosterFile, Roster } from '../../config/roster';
import { rosterAtStart } from '../../config/roster-required';
import { escalationGroups, REFUSAL, refusalFor, type GateDecision } from '../../engine/approval-rules';
import { loadRunbookDir } from '../../engine/load-runbook';
import { createLogger } from '../../observability/logger';
import type { HumanRequest, IncidentState } from '../../schemas/incident-state';
import { ensureLocalRoster, groupsReferenced, localOperator } from '../../stack/local-roster';
import { PROJECT_ROOT } from '../../stack/toolchain';

const roster = Roster.parse({
  groups: {
    oncall: { members: ['ann', 'bob'], escalate_to: ['leads'] },
    leads: { members: ['cat'], escalate_to: ['cto'] },
    cto: { members: ['dan'] },
    dba: { members: ['eve'] },
  },
});

const decision = (by: string, verdict = 'retry'): GateDecision => ({ by, verdict, step: 'sync', channel: 'test', reason: 'because' });

function escalation(over: Partial<HumanRequest> = {}): HumanRequest {
  return { requestId: 'r1', type: 'escalation', step: 'sync', reason: 'step sync failed', requestedAt: '2024-01-01T00:00:00.000Z', decisions: [], ...over };
}

test('an escalation asks the runbook groups, else on-call', () => {
  assert.deepEqual(escalationGroups(undefined), ['oncall']);
  assert.deepEqual(escalationGroups({}), ['oncall']);
  assert.deepEqual(escalationGroups({ approvers: ['dba'] }), ['dba']);
});

test('each unanswered escalation request adds the roster chain after the groups asked so far', () => {
  assert.deepEqual(escalationChainAt(roster, ['oncall'], 0), ['oncall']);
  assert.deepEqual(escalationChainAt(roster, ['oncall'], 1), ['oncall', 'leads']);
  assert.deepEqual(escalationChainAt(roster, ['oncall'], 2), ['oncall', 'leads', 'cto']);
  assert.deepEqual(escalationChainAt(roster, ['oncall'], 9), ['oncall', 'leads', 'cto'], 'the chain ends where the roster does');
  assert.deepEqual(escalationChainAt(roster, ['dba'], 3), ['dba'], 'a group without a chain stays alone');
});

test('the escalation look-up names the groups and their members, or no members without a roster', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'escalation-roster-'));
  try {
    const file = join(dir, 'roster.yaml');
    writeFileSync(file, 'groups:\n  oncall: { members: [ann, bob], escalate_to: [leads] }\n  leads: { members: [cat] }\n');
    const logger = createLogger('test', 'error');
    const withRoster = createApprovalActivities({ logger, rosterFile: file });
    assert.deepEqual(await withRoster.resolveEscalation({ groups: ['oncall'], round: 0 }), { configured: true, approvers: ['oncall'], members: ['ann', 'bob'] });
    assert.deepEqual(await withRoster.resolveEscalation({ groups: ['oncall'], round: 1 }), { configured: true, approvers: ['oncall', 'leads'], members: ['ann', 'bob', 'cat'] });
    const without = createApprovalActivities({ logger });
    assert.deepEqual(await without.resolveEscalation({ groups: ['oncall'], round: 1 }), { configured: false, approvers: ['oncall'], members: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-member is refused on an escalation that names its members, and a member is not', () => {
  const open = { request: escalation({ approvers: ['oncall'], eligible: ['ann', 'bob'] }) };
  const refused = refusalFor(open, [open.request], decision('mallory'));
  assert.equal(refused?.type, REFUSAL.notApprover);
  assert.equal(refused?.note, 'not on the escalation roster: mallory is not in oncall, who may decide this escalation');
  assert.equal(refusalFor(open, [open.request], decision('ann', 'abort')), undefined);
  assert.equal(refusalFor({ request: escalation({ approvers: ['oncall'], eligible: [] }) }, [], decision('ann'))?.type, REFUSAL.notApprover, 'nobody may decide when no one is on the groups');
  assert.equal(refusalFor({ request: escalation() }, [], decision('mallory')), undefined, 'an escalation from before the roster names nobody and stays open to any identity');
});

test('runbook show says who may decide the waiting request', () => {
  const base = { incidentId: 'incident/app/p', service: 'app', target: 'p', kind: 'node_down', status: 'escalated', dryRun: false, openedAt: '2024-01-01T00:00:00.000Z', faults: { count: 1, firstEventId: 'e', lastEventId: 'e', firstSeen: 'x', lastSeen: 'x', severity: 'critical', recentEventIds: [], resolvedSignals: 0 }, steps: [], compensations: [], epoch: 0 } as unknown as IncidentState;
  assert.match(renderIncident({ ...base, requests: [escalation({ approvers: ['oncall', 'leads'], eligible: ['ann', 'cat'] })] }), /may decide: oncall, leads \(ann, cat\)/);
  assert.match(renderIncident({ ...base, requests: [escalation({ approvers: ['oncall'] })] }), /may decide: oncall \(no roster configured: any authenticated identity\)/);
  assert.match(renderIncident({ ...base, requests: [escalation({ approvers: ['oncall'], eligible: [], outcome: 'timeout' })] }), /asked: oncall \(nobody: the roster has no member in these groups\)/);
});

test('production refuses to start without a usable roster, naming RUNBOOK_ROSTER_FILE; development starts as before', async () => {
  await assert.rejects(rosterAtStart({ mode: 'production' }), (err: Error) => err instanceof ConfigError && /RUNBOOK_ROSTER_FILE is required when RUNBOOK_MODE=production/.test(err.message));
  await assert.rejects(rosterAtStart({ mode: 'production', rosterFile: '/nonexistent/roster.yaml' }), /RUNBOOK_ROSTER_FILE \(RUNBOOK_MODE=production\) is not a usable roster:\n.*cannot read roster/);
  const dir = mkdtempSync(join(tmpdir(), 'roster-required-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'groups:\n  oncall: { members: [] }\n');
    await assert.rejects(rosterAtStart({ mode: 'production', rosterFile: bad }), /RUNBOOK_ROSTER_FILE .*\n.*bad\.yaml:2: .*at least one member/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'groups:\n  oncall: { members: [ann] }\n');
    assert.deepEqual(Object.keys((await rosterAtStart({ mode: 'production', rosterFile: good }))?.groups ?? {}), ['oncall']);
    assert.equal(await rosterAtStart({ mode: 'development' }), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the local roster names the operator in every group the shipped runbooks ask, once, and keeps later edits', async () => {
  const loaded = await loadRunbookDir(join(PROJECT_ROOT, 'runbooks'));
  assert.ok(loaded.ok);
  const groups = groupsReferenced(loaded.runbooks.map((r) => r.runbook));
  assert.ok(groups.includes('oncall'));
  const dir = mkdtempSync(join(tmpdir(), 'local-roster-'));
  try {
    const first = await ensureLocalRoster(dir, join(PROJECT_ROOT, 'runbooks'), 'ann');
    assert.equal(first.created, true);
    const written = await loadRosterFile(first.file);
    for (const g of groups) assert.deepEqual(written.groups[g]?.members, ['ann'], `ann is in ${g}`);
    writeFileSync(first.file, 'groups:\n  oncall: { members: [ann, bob] }\n');
    const again = await ensureLocalRoster(dir, join(PROJECT_ROOT, 'runbooks'), 'someone-else');
    assert.equal(again.created, false);
    assert.match(readFileSync(first.file, 'utf8'), /ann, bob/, "the operator's edit is kept");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('groups from approvals, their escalate_to and escalation settings all count; the OS user becomes a valid identity', () => {
  const rb = {
    settings: { escalation: { approvers: ['dba'] } },
    steps: [{ approval: { approvers: ['ops'], escalate_to: ['leads'] } }, { approval: false }],
  } as unknown as Parameters<typeof groupsReferenced>[0][number];
  assert.deepEqual(groupsReferenced([rb]), ['dba', 'drills', 'leads', 'oncall', 'ops']);
  assert.equal(localOperator('ann'), 'ann');
  assert.equal(localOperator('Ann Smith'), 'Ann-Smith');
  assert.equal(localOperator('???'), 'operator');
});
