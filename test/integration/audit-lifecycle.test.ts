import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { NatsConnection } from 'nats';
import { auditMessageId, AUDIT_UNAVAILABLE, createAuditEventActivities } from '../../activities/audit-events';
import { AuditRecord } from '../../audit/audit-record';
import { AUDIT_STREAM, auditSubject, readAuditEvents, type AuditEvent } from '../../audit/audit-stream';
import { fetchAuditRecord } from '../../audit/build-audit';
import { sdkIncidentReads } from '../../incidents/read-incident';
import { IncidentClosed, IncidentOpened, StepFinished, type LifecycleEvent } from '../../schemas/lifecycle-event';
import { freePort } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';
import { approve } from '../../workflows/messages';
import { runCli } from '../helpers/cli';
import { auditedPathSteps, runbookFrom, testFault, type EngineHarness } from '../helpers/engine';
import { startEngineStack, type EngineStack } from '../helpers/engine-stack';
import type { TestStack } from '../helpers/stack';

const node = JSON.stringify(process.execPath);
let setup: EngineStack | undefined;
let stack: TestStack;
let h: EngineHarness;
let nc: NatsConnection;

before(async () => {
  setup = await startEngineStack();
  ({ stack, h, nc } = setup);
});

after(() => setup?.close());

/** Lifecycle events of one incident on the stream, oldest first. */
async function lifecycleOf(id: string): Promise<AuditEvent[]> {
  return (await readAuditEvents(nc, id)).filter((e) => typeof e.runId === 'string');
}

test('a finished incident leaves opened, step, approval and closed events on the audit stream, in order, without secret values', async () => {
  const log = join(h.scratch, 'lifecycle.log');
  const deadPort = await freePort();
  const runbook = runbookFrom(`
name: lifecycle
version: 7
match: { kinds: [node_down] }
settings: { allowed_executables: [${node}] }
steps:
${auditedPathSteps(log, deadPort)}`);
  const fault = testFault('lc-a', 'node-1');
  const id = 'incident/lc-a/node-1';
  const handle = await h.start(runbook, fault);
  await h.waitForStatus(handle, 'awaiting_approval');
  await handle.signal(approve, h.signed(handle.workflowId, 'approve', { by: 'alice', channel: 'test', reason: 'go ahead', step: 'isolate' }));
  const result = await handle.result();
  assert.equal(result.status, 'resolved');
  assert.equal(result.state.auditGaps, undefined, 'every lifecycle event was stored');

  let events: AuditEvent[] = [];
  await waitFor('the closing event on the audit stream', 15_000, async () => {
    events = await lifecycleOf(id);
    return events.some((e) => e.event === 'incident.closed');
  });
  const { runId } = await handle.describe();
  assert.deepEqual(
    events.map((e) => (e.event === 'step.finished' ? `step ${String(e.stepId)}` : e.event)),
    ['incident.opened', 'step confirm', 'approval.requested', 'approval.decided', 'step isolate', 'step flaky', 'incident.closed'],
  );
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
  assert.ok(events.every((e) => e.runId === runId && e.incidentId === id));

  const opened = IncidentOpened.parse(events[0]);
  assert.deepEqual(opened.runbook, { name: 'lifecycle', version: 7, hash: runbook.hash });
  assert.equal(opened.firstFaultId, fault.id);
  assert.deepEqual(opened.plan.map((p) => p.id), ['confirm', 'isolate', 'flaky']);

  const steps = events.filter((e) => e.event === 'step.finished').map((e) => StepFinished.parse(e));
  const flaky = steps.find((s) => s.stepId === 'flaky');
  assert.equal(flaky?.status, 'succeeded');
  assert.equal(flaky?.attempts, 2);
  assert.deepEqual(flaky?.tries.map((t) => t.ok), [false, true]);
  assert.match(flaky?.summary ?? '', /./);
  assert.ok((flaky?.durationMs ?? -1) >= 0);
  const isolate = steps.find((s) => s.stepId === 'isolate');
  assert.equal(isolate?.kind, 'isolate');
  assert.deepEqual((isolate?.input as { command: { env: Record<string, string> } }).command.env, { API_TOKEN: '[redacted]', MODE: 'drain' });
  assert.doesNotMatch(JSON.stringify(events), /hunter2/);

  const decided = events.find((e) => e.event === 'approval.decided');
  assert.equal(decided?.outcome, 'approve');
  assert.equal((decided?.decisions as { by: string }[] | undefined)?.[0]?.by, 'alice');

  const closed = IncidentClosed.parse(events.at(-1));
  assert.equal(closed.status, 'resolved');
  assert.equal(closed.outcome, 'healed');
  assert.equal(closed.faultsAbsorbed, 1);
  assert.equal(closed.auditGaps, 0);
});

test('once Temporal no longer has the workflow, runbook audit rebuilds the record from the audit stream alone', async () => {
  const source = 'incident/lc-a/node-1';
  const gone = 'incident/lc-gone/node-9';
  const events = await lifecycleOf(source);
  assert.ok(events.some((e) => e.event === 'incident.closed'), 'the first test left a closed incident on the stream');
  const js = nc.jetstream();
  for (const e of events) await js.publish(auditSubject(gone, e.event), JSON.stringify({ ...e, incidentId: gone }));
  const fromHistory = await fetchAuditRecord(sdkIncidentReads(h.client), source, await readAuditEvents(nc, source));

  const record = await fetchAuditRecord(sdkIncidentReads(h.client), gone, await readAuditEvents(nc, gone));
  assert.equal(record.source, 'audit-stream');
  assert.equal(fromHistory.source, 'history');
  assert.equal(record.incidentId, gone);
  assert.equal(record.runId, fromHistory.runId);
  for (const field of ['status', 'outcome', 'routing', 'openedAt', 'closedAt', 'timings'] as const) {
    assert.deepEqual(record[field], fromHistory[field], `${field} matches the history's record`);
  }
  assert.deepEqual(record.faults.eventIds, fromHistory.faults.eventIds);
  assert.deepEqual(
    record.steps.map((s) => [s.id, s.status, s.attempts.length, s.summary]),
    fromHistory.steps.map((s) => [s.id, s.status, s.attempts.length, s.summary]),
  );
  assert.deepEqual(
    record.requests.map((r) => [r.type, r.step, r.outcome, r.decisions.map((d) => d.by)]),
    fromHistory.requests.map((r) => [r.type, r.step, r.outcome, r.decisions.map((d) => d.by)]),
  );

  const cli = await runCli(['audit', 'lc-gone/node-9', '--json'], stack.env);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(AuditRecord.parse(JSON.parse(cli.stdout)).source, 'audit-stream');
  const text = await runCli(['audit', gone], stack.env);
  assert.match(text.stdout, /source\s+audit stream only/);

  const missing = await runCli(['audit', 'lc-never/node-0'], stack.env);
  assert.notEqual(missing.code, 0, 'an incident neither Temporal nor the stream knows is an error');
});

test('a retried publish of the same lifecycle event is stored once', async () => {
  const { recordAuditEvent } = createAuditEventActivities({ nats: nc });
  const event: LifecycleEvent = {
    event: 'incident.opened', incidentId: 'incident/lc-dup/node-1', runId: 'run-dup', seq: 1, at: new Date().toISOString(),
    service: 'lc-dup', target: 'node-1', kind: 'node_down', severity: 'critical', dryRun: false, openedAt: new Date().toISOString(), firstFaultId: 'e1', runbook: null, plan: [],
  };
  await recordAuditEvent(event);
  await recordAuditEvent(event);
  assert.equal(auditMessageId(event), 'incident/lc-dup/node-1/run-dup/1');
  const stored = await readAuditEvents(nc, event.incidentId);
  assert.equal(stored.length, 1);
  assert.ok((await (await nc.jetstreamManager()).streams.info(AUDIT_STREAM)).state.messages > 0);
});

test('without a NATS connection the audit activity fails without retrying', async () => {
  const { recordAuditEvent } = createAuditEventActivities({});
  await assert.rejects(
    recordAuditEvent({ event: 'step.finished', incidentId: 'incident/x/y', runId: 'r', seq: 1, at: new Date().toISOString(), stepId: 's', kind: 'command', status: 'succeeded', attempts: 1, tries: [] }),
    (err: unknown) => err instanceof ApplicationFailure && err.nonRetryable && err.type === AUDIT_UNAVAILABLE,
  );
});
