import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { recordedLauncherId } from '../../scripts/record-histories';
import { workerOptionsForTests } from '../helpers/worker';

/*
 * Stored histories (recorded by scripts/record-histories.ts) replayed against
 * the current workflow code: a change that would break incidents already in
 * flight fails here, without a server.
 */

const HISTORY_DIR = join(__dirname, '..', 'histories');

/** Runbook paths that must keep a stored history; a missing file fails instead of passing silently. */
const REQUIRED_PATHS = [
  'healed',
  'false-alarm',
  'escalate-retry-healed',
  'escalate-abort',
  'approval-approve',
  'approval-reject',
  'approval-timeout-reject',
  'dry-run',
  'resolved-during-confirmation',
  'on-failure-continue',
  'when-skip',
  'verdict-fits-request-approval-approve',
  'verdict-fits-request-approval-refused-verdict',
  'escalate-before-compensate-escalate-retry-healed',
  'escalate-before-compensate-escalate-abort',
  'escalate-before-compensate-isolation-skipped-refused',
  'effect-keys-ambiguous-escalate',
  // Leases given back however an incident ends, and reclaimed from a terminated holder.
  'lease-finally-isolation-lease',
  'lease-finally-isolation-lease-failed',
  'lease-finally-isolation-lease-cancelled',
  'lease-reclaim-isolation-lease-reclaimed.guard',
  'bounded-waits-escalation-timeout',
  'bounded-waits-quiet-close',
  'bounded-waits-continued-as-new',
  'bounded-waits-continued-as-new.run-1',
  'signed-decisions-approval-approve',
  'signed-decisions-forged-decision-refused',
  // Escalations name who may decide them: a non-member refused, a member deciding, the chain widening.
  'escalation-roster-escalation-member-decides',
  'escalation-roster-escalation-chain-widens',
  'escalation-roster-escalate-abort',
  'escalation-roster-ambiguous-escalate',
  // A scheduled run that opens its incident and waits for it (the incident beside it), and one skipped for an open incident.
  'scheduled-run-opens-incident',
  'scheduled-run-opens-incident.incident',
  'scheduled-run-skipped-incident-open',
  // A backup step and a restore_data step, as recorded before data-step-heartbeats.
  'backups-backup-restore',
  // The same steps with a heartbeat timeout (patched('data-step-heartbeats')).
  'data-step-heartbeats-backup-restore',
  // A drill approved by its group and run dry, one rejected, and an incident a drill marked.
  'drills-dry-run-approved',
  'drills-rejected',
  'drills-incident-marked',
  // Every request for a human notifies, and a decided one is announced so its page is resolved (patched('page-resolve')).
  'page-resolve-approval-approve',
  'page-resolve-approval-reject',
  'page-resolve-approval-timeout-reject',
  'page-resolve-escalate-abort',
  'page-resolve-escalation-member-decides',
  'page-resolve-escalation-chain-widens',
  'page-resolve-escalation-timeout',
  'page-resolve-ambiguous-escalate',
  'page-resolve-continued-as-new',
  'page-resolve-continued-as-new.run-1',
  'page-resolve-isolation-lease-failed',
  'page-resolve-isolation-lease-failed.guard',
  // A decided request's notice goes out beside the next step, and the closing record with the last batch (patched('lean-close')).
  'lean-close-healed',
  'lean-close-false-alarm',
  'lean-close-approval-approve',
  'lean-close-approval-reject',
  'lean-close-approval-timeout-reject',
  'lean-close-escalate-abort',
  'lean-close-escalate-retry-healed',
  'lean-close-escalation-member-decides',
  'lean-close-escalation-chain-widens',
  'lean-close-escalation-timeout',
  'lean-close-ambiguous-escalate',
  'lean-close-continued-as-new',
  'lean-close-continued-as-new.run-1',
  'lean-close-quiet-close',
  'lean-close-isolation-lease-failed',
  'lean-close-isolation-lease-failed.guard',
];

const TAMPERED = 'tampered/healed';
/** A scheduled run replayed under another workflow id: it would open another incident, so replay must say so. */
const MISPLACED_RUN = 'tampered/scheduled-run';

/**
 * ProtoJSON codec of the protobufjs copy that built the Temporal types (the
 * SDK's own historyFromJSON breaks when npm installs several copies).
 */
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto'))] })) as {
  fromJson(type: unknown, json: unknown): unknown;
};
const History = temporal.api.history.v1.History;

/** Histories are ProtoJSON; the few over a megabyte are stored gzipped (`<name>.json.gz`). */
const HISTORY_FILE = /\.json(\.gz)?$/;

function loadHistory(file: string): temporal.api.history.v1.History {
  const bytes = readFileSync(join(HISTORY_DIR, file));
  const text = file.endsWith('.gz') ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
  return protojson.fromJson(History, JSON.parse(text)) as temporal.api.history.v1.History;
}

/** The healed history with its first activity renamed, as if the workflow had been changed incompatibly. */
function tamperedHistory(): temporal.api.history.v1.History {
  const history = loadHistory('healed.json');
  const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)?.activityTaskScheduledEventAttributes;
  assert.ok(scheduled?.activityType, 'the healed history schedules an activity');
  scheduled.activityType.name = 'renamedActivity';
  return history;
}

const files = readdirSync(HISTORY_DIR).filter((f) => HISTORY_FILE.test(f)).sort();

/** The workflow id a history replays under: its file name, or the id a scheduled run was recorded with (its code reads its own id). */
const replayIdOf = (name: string): string => recordedLauncherId(name) ?? name;

test('every runbook path the recorder covers has a stored history', () => {
  const missing = REQUIRED_PATHS.filter((name) => !files.some((f) => f.replace(HISTORY_FILE, '') === name));
  assert.deepEqual(missing, [], `missing histories; run: node --import tsx scripts/record-histories.ts`);
});

test('backup and restore_data steps have a heartbeat timeout only in histories recorded with data-step-heartbeats', () => {
  const heartbeatTimeouts = (file: string): number[] =>
    loadHistory(file)
      .events.map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'runAction')
      .map((a) => Number(a?.heartbeatTimeout?.seconds ?? 0));
  assert.deepEqual(heartbeatTimeouts('backups-backup-restore.json'), [0, 0]);
  assert.deepEqual(heartbeatTimeouts('data-step-heartbeats-backup-restore.json'), [15, 15]);
});

/** The first argument an activity was scheduled with, as JSON (our payloads are JSON). */
function inputOf<T>(a: temporal.api.history.v1.IActivityTaskScheduledEventAttributes | null | undefined): T {
  return JSON.parse(Buffer.from(a?.input?.payloads?.[0]?.data ?? new Uint8Array()).toString('utf8')) as T;
}

test('requests are announced as decided only in histories recorded with page-resolve, and an ambiguous escalation notifies only there', () => {
  const notices = (file: string): string[] =>
    loadHistory(file)
      .events.map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'notifyApproval')
      .map((a) => inputOf<{ event: string }>(a).event);
  assert.deepEqual(notices('signed-decisions-approval-approve.json'), ['requested']);
  assert.deepEqual(notices('page-resolve-approval-approve.json'), ['requested', 'decided']);
  assert.deepEqual(notices('escalation-roster-ambiguous-escalate.json'), []);
  assert.deepEqual(notices('page-resolve-ambiguous-escalate.json'), ['requested', 'decided']);
  assert.deepEqual(notices('escalation-roster-escalation-chain-widens.json'), ['requested', 'escalated']);
  assert.deepEqual(notices('page-resolve-escalation-chain-widens.json'), ['requested', 'escalated', 'decided']);
  assert.equal(notices('page-resolve-isolation-lease-failed.json.gz').at(-1), 'timed_out', 'a gate that gives up resolves its last page');
});

/** Each workflow task's commands, as the names of the activities it scheduled (a notice as notify:<event>) and 'closed' for the workflow's end. */
function commandsPerTask(file: string): string[][] {
  const tasks: string[][] = [];
  for (const e of loadHistory(file).events) {
    if (e.workflowTaskCompletedEventAttributes) tasks.push([]);
    const a = e.activityTaskScheduledEventAttributes;
    const name = a?.activityType?.name;
    if (name === 'notifyApproval') tasks.at(-1)?.push(`notify:${inputOf<{ event: string }>(a).event}`);
    else if (name) tasks.at(-1)?.push(name);
    if (e.workflowExecutionCompletedEventAttributes) tasks.at(-1)?.push('closed');
  }
  return tasks.filter((t) => t.length > 0);
}

/** The audit events each recordAuditEvents call of the history carried, by name. */
function auditBatches(file: string): string[][] {
  return loadHistory(file)
    .events.map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a) => a?.activityType?.name === 'recordAuditEvents')
    .map((a) => inputOf<{ event: string }[]>(a).map((ev) => ev.event));
}

test('from lean-close on, a decided notice is scheduled with the next step and the closing record goes with the last batch', () => {
  const afterDecision = (file: string): string[][] => {
    const tasks = commandsPerTask(file);
    return tasks.slice(tasks.findIndex((t) => t.includes('verifyDecision')) + 1);
  };
  assert.deepEqual(afterDecision('page-resolve-approval-approve.json'), [['recordAuditEvents', 'notify:decided'], ['runAction'], ['recordAuditEvents'], ['recordAuditEvents'], ['closed']]);
  assert.deepEqual(afterDecision('lean-close-approval-approve.json'), [['recordAuditEvents', 'notify:decided', 'runAction'], ['recordAuditEvents'], ['closed']]);
  assert.deepEqual(auditBatches('page-resolve-approval-approve.json').slice(-2), [['step.finished'], ['incident.closed']]);
  assert.deepEqual(auditBatches('lean-close-approval-approve.json').at(-1), ['step.finished', 'incident.closed']);
  assert.equal(auditBatches('lean-close-healed.json').at(-1)?.at(-1), 'incident.closed');
  // Against the healed path as recorded just before lean-close.
  assert.equal(auditBatches('lean-close-healed.json').length, auditBatches('bounded-waits-healed.json').length - 1, 'one write fewer than before lean-close');
});

describe('stored histories replay against the current workflow code', () => {
  const results = new Map<string, ReplayResult>();

  before(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const histories = [
      ...files.map((file) => ({ workflowId: replayIdOf(file.replace(HISTORY_FILE, '')), history: loadHistory(file) })),
      { workflowId: TAMPERED, history: tamperedHistory() },
      { workflowId: MISPLACED_RUN, history: loadHistory('scheduled-run-opens-incident.json') },
    ];
    for await (const result of Worker.runReplayHistories({ ...workerOptionsForTests(), replayName: 'stored-histories' }, histories)) {
      results.set(result.workflowId, result);
    }
  });

  for (const file of files) {
    const name = file.replace(HISTORY_FILE, '');
    test(`the ${name} history replays without a nondeterminism error`, () => {
      const result = results.get(replayIdOf(name));
      assert.ok(result, `${name} was not replayed`);
      assert.equal(result.error, undefined, `${name}: ${result.error?.message ?? ''}; if the change is intended, guard it with patched() or re-record`);
    });
  }

  test('a history that no longer matches the workflow code is reported as nondeterministic', () => {
    const result = results.get(TAMPERED);
    assert.ok(result?.error, 'the tampered history replayed cleanly, so replay checks nothing');
    assert.match(`${result.error.name} ${result.error.message}`, /nondetermin|Determinism/i);
  });

  test('a scheduled run replayed under another workflow id is reported as nondeterministic', () => {
    const result = results.get(MISPLACED_RUN);
    assert.ok(result?.error, 'the scheduled run replayed cleanly under a foreign id, so its incident id is not checked');
    assert.match(result.error.message, /Child workflow id/);
  });
});
