import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { JetStreamManager } from 'nats';
import { listDeadLetters } from '../../intake/dead-letter-store';
import { DEAD_LETTER_STREAM } from '../../intake/streams';
import type { IncidentResult } from '../../schemas/incident-state';
import { waitFor } from '../../stack/wait-for';
import { metricValue } from './intake-harness';
import { countStorm, parseEffectLog, type StormCount, type StormRun } from './storm-count';
import { STORM_SERVICE, type StormFiles } from './storm-runbook';

/*
 * The storm's tally once it is over: every incident run from Temporal
 * visibility, the effect log and the dead letters, counted (storm-count.ts)
 * into the summary docs/reliability.md quotes, and the guarantees asserted.
 */

/** One kill and its recovery, for the summary. */
export interface KillRecord {
  fault: string;
  component: string;
  /** Events acknowledged when it was killed. */
  afterEvents: number;
  recoveredMs: number;
}

/** The one-line summary docs/reliability.md quotes. */
export interface StormSummary {
  stack: string;
  events: number;
  targets: number;
  acked: number;
  publishRetries: number;
  lost: number;
  deadLettered: number;
  duplicates: number;
  overlaps: number;
  stuck: number;
  incidents: number;
  byStatus: Record<string, number>;
  ambiguous: StormCount['ambiguous'];
  effectLines: number;
  maxIncidentsPerTarget: number;
  incidentLifetimeMs: StormCount['lifetimeMs'];
  /** Events the running intakes gave back to JetStream (nak) while Temporal could not take them; a restarted intake counts from 0. */
  intakeRetried: number;
  kills: KillRecord[];
  stormMs: number;
  closedAfterStormMs: number;
  totalMs: number;
}

/** What the storm did, as the tally needs it. */
export interface StormRecord {
  stack: string;
  events: number;
  targets: number;
  /** Acknowledged event ids by target. */
  acked: Map<string, string[]>;
  publishRetries: number;
  kills: KillRecord[];
  intakePorts: number[];
  startedAt: number;
  stormEndedAt: number;
  closedAt: number;
}

/** Every storm incident run in visibility, each with its final state when closed. */
async function listRuns(client: Client): Promise<StormRun[]> {
  const runs: StormRun[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${STORM_SERVICE}/'` })) {
    runs.push({ workflowId: wf.workflowId, runId: wf.runId, startMs: wf.startTime.getTime(), ...(wf.closeTime ? { closeMs: wf.closeTime.getTime() } : {}) });
  }
  // Results of closed runs, a few at a time; an open run (stuck) gets its last state by query.
  const queue = [...runs];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let run = queue.shift(); run; run = queue.shift()) {
        const handle = client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false });
        try {
          run.state = run.closeMs === undefined ? await handle.query('state') : ((await handle.result()) as IncidentResult).state;
        } catch {
          // Counted as stuck or as a run without a ledger; the assertions name it.
        }
      }
    }),
  );
  return runs;
}

/** Counts the storm: settles on a listing whose ledgers add up (visibility lists a close a moment after it happens), briefly. */
export async function tallyStorm(record: StormRecord, client: Client, jsm: JetStreamManager, files: StormFiles, log: (line: string) => void): Promise<{ count: StormCount; summary: StormSummary }> {
  let runs: StormRun[] = [];
  let count: StormCount | undefined;
  const lines = (): ReturnType<typeof parseEffectLog> => (existsSync(files.effectLog) ? parseEffectLog(readFileSync(files.effectLog, 'utf8')) : []);
  const dead = await listDeadLetters(jsm, 1_000).catch(() => []);
  const deadLettered = new Set(dead.map((d) => d.originalMsgId ?? '').filter(Boolean));
  for (const d of dead) log(`${record.stack}: dead-lettered ${d.originalMsgId ?? '?'}: ${d.reason}: ${d.error}`);
  await waitFor('a listing in which every acknowledged event is accounted for', 20_000, async () => {
    runs = await listRuns(client);
    count = countStorm({ acked: record.acked, deadLettered, runs, lines: lines(), incidentPrefix: `incident/${STORM_SERVICE}/` });
    return count.lost.length === 0 && count.miscounted.length === 0;
  }, 1_000).catch(() => undefined);
  if (!count) throw new Error('no listing of the storm incidents');
  const deadInStream = (await jsm.streams.info(DEAD_LETTER_STREAM)).state.messages;
  let retried = 0;
  for (const port of record.intakePorts) retried += await metricValue(port, 'runbook_intake_events_total', '{outcome="retried"}').catch(() => 0);
  const summary: StormSummary = {
    stack: record.stack,
    events: record.events,
    targets: record.targets,
    acked: count.acked,
    publishRetries: record.publishRetries,
    lost: count.lost.length,
    deadLettered: deadInStream,
    duplicates: count.duplicates.length,
    overlaps: count.overlaps.length,
    stuck: count.stuck.length,
    incidents: count.incidents,
    byStatus: count.byStatus,
    ambiguous: count.ambiguous,
    effectLines: count.effectLines,
    maxIncidentsPerTarget: count.maxIncidentsPerTarget,
    incidentLifetimeMs: count.lifetimeMs,
    intakeRetried: retried,
    kills: record.kills,
    stormMs: record.stormEndedAt - record.startedAt,
    closedAfterStormMs: record.closedAt - record.stormEndedAt,
    totalMs: Date.now() - record.startedAt,
  };
  return { count, summary };
}

/** The storm's guarantees, asserted on its count; each failure names the offenders. */
export function assertStormHeld(count: StormCount, summary: StormSummary): void {
  assert.equal(summary.acked, summary.events, 'every event was acknowledged: the publishers rode out every kill');
  assert.ok(count.ledgersComplete, 'every incident lists all its event ids (fewer than the ledger bound), so the id check covered every event');
  assert.deepEqual(count.lost, [], 'no acknowledged event is missing from every incident and the dead letters');
  assert.equal(summary.deadLettered, 0, 'no valid event was dead-lettered');
  assert.deepEqual(count.miscounted, [], `each target's incidents absorbed exactly the events acknowledged for it:\n${count.miscountDetail.join('\n')}`);
  assert.deepEqual(count.absorbedTwice, [], 'no event is absorbed by two incidents');
  assert.deepEqual(count.overlaps, [], 'no target had two incidents open at once');
  assert.deepEqual(count.duplicates, [], 'no remediation side effect ran twice');
  assert.deepEqual(count.strayKeys, [], 'every effect line belongs to a listed incident of its own target');
  assert.deepEqual(count.succeededNotOnce, [], 'each incident whose effect step succeeded ran it exactly once');
  assert.deepEqual(count.stuck, [], 'every incident closed within the bound after the storm');
  assert.equal(summary.kills.length, summary.kills.filter((k) => k.recoveredMs > 0).length);
  assert.ok(count.maxIncidentsPerTarget > 1, 'some target had several incidents in turn, so reopening was exercised');
}
