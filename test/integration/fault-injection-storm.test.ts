import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { NatsConnection } from 'nats';
import { ENV } from '../../config/config';
import { DEAD_LETTER_STREAM } from '../../intake/streams';
import type { IncidentResult, IncidentState } from '../../schemas/incident-state';
import { startIsolatedStack } from '../../stack/isolated-stack';
import type { ManagedProcess } from '../../stack/managed-process';
import { waitFor } from '../../stack/wait-for';
import { incidentState } from '../../workflows/messages';
import { startWorkerProcess } from '../helpers/engine';
import { metricValue, natsFor, publishFault, startIntake, testFault, waitForDrained } from '../helpers/intake-harness';
import { crash } from '../helpers/processes';
import { startServerAgain } from '../helpers/server-restart';
import type { TestStack } from '../helpers/stack';
import { temporalConnectOptions } from '../../config/temporal-connection';

/*
 * A storm of faults over many targets while the worker and the Temporal dev
 * server are SIGKILLed and restarted, counted at the side effects themselves:
 * the events absorbed by incidents, the incident runs in Temporal visibility,
 * and the lines the non-idempotent command appended.
 */

const SERVICE = 'storm';
const TARGETS = Array.from({ length: 40 }, (_, i) => `node-${String(i + 1).padStart(2, '0')}`);
const EVENTS = 960;
/** Publication pace: EVENTS over about 60 s. */
const EVENT_INTERVAL_MS = 62;
/**
 * Kill moments, as "after this many events were published": all in the first
 * half, so the second half sees incidents close and new ones open for the
 * same targets.
 */
const WORKER_KILLS = [100, 300, 460];
const TEMPORAL_KILLS = [200, 380];

let stack: TestStack;
let dir = '';
let log = '';
let nc: NatsConnection | undefined;
let connection: Connection | undefined;
let client: Client;
let intake: ManagedProcess | undefined;
let worker: ManagedProcess | undefined;
const stopped: ManagedProcess[] = [];

/** Appends `<target> <idempotency key>` to the log given as its first argument. */
const APPEND = `
const fs = require('node:fs');
fs.appendFileSync(process.argv[2], process.argv[3] + ' ' + process.env.RUNBOOK_IDEMPOTENCY_KEY + '\\n');
`;

function runbookYaml(script: string): string {
  const node = JSON.stringify(process.execPath);
  return `name: storm
version: 1
match: { kinds: [storm_fault], services: [${SERVICE}] }
settings: { allowed_executables: [${node}] }
steps:
  - id: append
    action: { kind: command, argv: [${node}, ${JSON.stringify(script)}, ${JSON.stringify(log)}, "{{ fault.target }}"] }
    timeout: 5s
    retry: { max_attempts: 5, initial_interval: 200ms, max_interval: 1s }
  - id: settle
    action: { kind: wait, duration: 3s }
`;
}

/** The run's pre-built workflow bundle, or one built here, so each restarted worker starts without webpack. */
async function workflowBundle(): Promise<string> {
  const given = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  if (given) return given;
  const out = join(dir, 'workflow-bundle.js');
  writeFileSync(out, (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietBundlerLogger })).code);
  return out;
}

const quiet = (): void => undefined;
const quietBundlerLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet, log: quiet };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'storm-'));
  log = join(dir, 'effects.log');
  const script = join(dir, 'append.js');
  writeFileSync(script, APPEND);
  const runbooksDir = join(dir, 'runbooks');
  mkdirSync(runbooksDir);
  writeFileSync(join(runbooksDir, 'storm.yaml'), runbookYaml(script));
  const bundle = await workflowBundle();
  stack = await startIsolatedStack({ dirPrefix: 'runbook-test-', workflowBundle: bundle, overrides: { runbooksDir } });
  nc = await natsFor(stack);
  // Short nak delays keep the catch-up after the Temporal outages within the test's bound.
  intake = await startIntake(stack, 'intake', stack.config.intakePort, { [ENV.intakeNakBaseMs]: '250', [ENV.intakeNakMaxMs]: '3000' });
  worker = await startWorkerProcess(stack, 'worker-0');
  connection = await Connection.connect(await temporalConnectOptions(stack.config));
  client = new Client({ connection, namespace: stack.config.namespace });
});

after(async () => {
  await worker?.stop();
  await intake?.stop();
  for (const proc of stopped) await proc.stop();
  await nc?.close();
  await connection?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** SIGKILLs the Temporal dev server's process group, then starts it again on the same port and database. */
async function crashTemporal(): Promise<void> {
  const proc = stack.stack.processes.find((p) => p.name === 'temporal');
  if (!proc) throw new Error('no temporal server');
  await crash(proc);
  await startServerAgain(stack, 'temporal');
}

/** Every incident run of the storm's service, open or closed, as visibility lists it. */
async function incidentRuns(): Promise<WorkflowExecutionInfo[]> {
  const runs: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = 'incident' AND WorkflowId STARTS_WITH 'incident/${SERVICE}/'` })) runs.push(wf);
  return runs;
}

/** The state of one run: its result once closed, a query while open. */
async function stateOf(run: WorkflowExecutionInfo, closed: Map<string, IncidentState>): Promise<IncidentState | undefined> {
  const known = closed.get(run.runId);
  if (known) return known;
  const handle = client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false });
  try {
    if (run.status.name === 'RUNNING') return await handle.query(incidentState);
    const result = (await handle.result()) as IncidentResult;
    closed.set(run.runId, result.state);
    return result.state;
  } catch {
    return undefined;
  }
}

/** Whether an open incident is waiting at an escalation for an effect of unknown outcome. */
function escalatedAmbiguous(state: IncidentState): boolean {
  return state.status === 'escalated' && state.requests.some((r) => r.type === 'escalation' && r.outcome === undefined && /AmbiguousOutcome/.test(r.reason));
}

/** Lines of the effect log as (target, key) pairs. */
function effectLines(): { target: string; key: string }[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [target = '', key = ''] = line.split(' ');
      return { target, key };
    });
}

test('a storm of faults survives worker and Temporal kills: no event lost, no overlap, no double effect, nothing stuck', { timeout: 420_000 }, async (t) => {
  const startedAt = Date.now();
  const publishedByTarget = new Map<string, Set<string>>(TARGETS.map((x) => [x, new Set<string>()]));
  let published = 0;
  const conn = nc;
  if (!conn) throw new Error('no NATS connection');

  let stormFailed: unknown;
  // The storm: a steady pace, each event acknowledged by JetStream before it counts as published.
  const storm = (async () => {
    for (let i = 0; i < EVENTS; i++) {
      const due = startedAt + i * EVENT_INTERVAL_MS;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const target = TARGETS[i % TARGETS.length] as string;
      const event = testFault({ id: `storm-${i}`, service: SERVICE, target, kind: 'storm_fault', severity: 'critical' });
      const ack = await publishFault(conn, event);
      assert.equal(ack.duplicate, false);
      publishedByTarget.get(target)?.add(event.id);
      published += 1;
    }
  })();
  storm.catch((err: unknown) => (stormFailed = err));

  // The faults: each at its moment in the storm, each restart waited for before the next kill.
  const kills = [...WORKER_KILLS.map((at) => ({ at, what: 'worker' as const })), ...TEMPORAL_KILLS.map((at) => ({ at, what: 'temporal' as const }))].sort((a, b) => a.at - b.at);
  const timeline: string[] = [];
  let generation = 0;
  for (const kill of kills) {
    await waitFor(`${kill.at} events published`, 120_000, () => {
      if (stormFailed !== undefined) throw stormFailed;
      return published >= kill.at;
    }, 20);
    const at = Date.now();
    const after = published;
    if (kill.what === 'worker' && worker) {
      const dead = worker;
      await crash(dead);
      stopped.push(dead);
      worker = undefined;
      worker = await startWorkerProcess(stack, `worker-${++generation}`);
    } else {
      await crashTemporal();
    }
    timeline.push(`${kill.what} killed after ${after} events, back after ${Date.now() - at} ms`);
  }
  await storm;
  const stormEndedAt = Date.now();

  // Recovery: the intake has settled every message, and every incident is final or waits on an ambiguous effect.
  await waitForDrained(conn, 120_000);
  const closed = new Map<string, IncidentState>();
  let runs: WorkflowExecutionInfo[] = [];
  const states = new Map<string, IncidentState>();
  let lastProblem = '';
  await waitFor('every event absorbed and every incident final or escalated as ambiguous', 150_000, async () => {
    runs = await incidentRuns().catch(() => []);
    states.clear();
    const absorbed = new Map<string, number>();
    for (const run of runs) {
      const state = await stateOf(run, closed);
      if (!state) {
        lastProblem = `no state for ${run.workflowId} ${run.runId}`;
        return false;
      }
      if (run.status.name === 'RUNNING' && !escalatedAmbiguous(state)) {
        lastProblem = `${run.workflowId} is ${state.status}`;
        return false;
      }
      states.set(run.runId, state);
      absorbed.set(state.target, (absorbed.get(state.target) ?? 0) + state.faults.count);
    }
    const short = TARGETS.filter((x) => (absorbed.get(x) ?? 0) < (publishedByTarget.get(x)?.size ?? 0));
    lastProblem = short.length ? `targets still missing events: ${short.join(', ')}` : '';
    return short.length === 0;
  }, 1_000).catch((err: unknown) => {
    throw new Error(`${String(err)}; last: ${lastProblem}`);
  });
  const settledAt = Date.now();

  // 1. Events: every acknowledged event is in exactly one incident's ledger (or dead-lettered, which valid events are not).
  const holders = new Map<string, number>();
  let completeLedgers = true;
  const absorbedByTarget = new Map<string, number>();
  for (const state of states.values()) {
    absorbedByTarget.set(state.target, (absorbedByTarget.get(state.target) ?? 0) + state.faults.count);
    if (state.faults.recentEventIds.length < state.faults.count) completeLedgers = false;
    for (const id of state.faults.recentEventIds) holders.set(id, (holders.get(id) ?? 0) + 1);
  }
  const deadLettered = (await (await conn.jetstreamManager()).streams.info(DEAD_LETTER_STREAM)).state.messages;
  const allIds = [...publishedByTarget.values()].flatMap((ids) => [...ids]);
  const lost = completeLedgers ? allIds.filter((id) => !holders.has(id)) : [];
  const absorbedTwice = [...holders.entries()].filter(([, n]) => n > 1).map(([id]) => id);
  for (const target of TARGETS) assert.equal(absorbedByTarget.get(target) ?? 0, publishedByTarget.get(target)?.size ?? 0, `events absorbed for ${target}`);
  assert.deepEqual(lost, [], 'no acknowledged event is missing from every incident');
  assert.deepEqual(absorbedTwice, [], 'no event is absorbed by two incidents');
  assert.equal(deadLettered, 0, 'no valid event dead-lettered');

  // 2. Overlap: the runs of one incident id follow one another; only the last may still be open.
  const overlaps: string[] = [];
  const byId = new Map<string, WorkflowExecutionInfo[]>();
  for (const run of runs) byId.set(run.workflowId, [...(byId.get(run.workflowId) ?? []), run]);
  for (const [id, list] of byId) {
    list.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    for (let i = 0; i + 1 < list.length; i++) {
      const a = list[i] as WorkflowExecutionInfo;
      const b = list[i + 1] as WorkflowExecutionInfo;
      if (!a.closeTime || a.closeTime.getTime() > b.startTime.getTime()) overlaps.push(`${id}: ${a.runId} open when ${b.runId} started`);
    }
  }
  assert.deepEqual(overlaps, [], 'no two incidents of a target open at once');

  // 3. Effects: each key appended at most once, in its own target's incident; ambiguous steps did not run twice.
  const lines = effectLines();
  const perKey = new Map<string, number>();
  for (const { target, key } of lines) {
    assert.ok(key.startsWith(`incident/${SERVICE}/${target}/`), `key ${key} belongs to ${target}`);
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }
  const doubled = [...perKey.entries()].filter(([, n]) => n > 1).map(([key]) => key);
  assert.deepEqual(doubled, [], 'no non-idempotent command ran twice');
  // A run's key as the workflow makes it (workflows/effect-keys.ts); incidents here never continue-as-new.
  const keyOf = (run: WorkflowExecutionInfo): string => `${run.workflowId}/${run.runId}/append/e${states.get(run.runId)?.epoch ?? 0}`;
  const ambiguousKeys = runs.filter((run) => {
    const state = states.get(run.runId);
    return state !== undefined && escalatedAmbiguous(state);
  }).map(keyOf);
  const runKeys = new Set(runs.map(keyOf));
  assert.deepEqual([...perKey.keys()].filter((key) => !runKeys.has(key)), [], 'every effect line belongs to a listed incident');
  const healedNotOnce = runs.filter((run) => states.get(run.runId)?.status === 'resolved' && perKey.get(keyOf(run)) !== 1).map(keyOf);
  assert.deepEqual(healedNotOnce, [], 'each healed incident ran its command exactly once');
  const ambiguousRanTwice = ambiguousKeys.filter((key) => (perKey.get(key) ?? 0) > 1);
  assert.deepEqual(ambiguousRanTwice, [], 'no step that ended ambiguous ran twice');

  // 4. Stuck: every incident is final, or waits on an ambiguous effect (checked by the wait above; recounted here).
  const finals = new Set(['resolved', 'false_alarm', 'failed', 'aborted']);
  const stuck = runs.filter((run) => {
    const state = states.get(run.runId);
    return !state || (!finals.has(state.status) && !escalatedAmbiguous(state));
  });
  assert.deepEqual(stuck.map((r) => r.workflowId), [], 'no incident stuck');
  const healed = [...states.values()].filter((s) => s.status === 'resolved').length;
  assert.equal(healed + ambiguousKeys.length, runs.length, 'every incident healed or is escalated as ambiguous');

  const lifetimes = runs.filter((r) => r.closeTime).map((r) => (r.closeTime?.getTime() ?? 0) - r.startTime.getTime()).sort((a, b) => a - b);
  const retriedSteps = [...states.values()].filter((st) => (st.steps.find((x) => x.id === 'append')?.attempts.length ?? 0) > 1).length;
  const nacked = await metricValue(stack.config.intakePort, 'runbook_intake_events_total', '{outcome="retried"}');
  const figures = [
    `events published and acknowledged: ${allIds.length} over ${TARGETS.length} targets in ${((stormEndedAt - startedAt) / 1000).toFixed(1)} s`,
    ...timeline,
    `incidents: ${runs.length} (${healed} healed, ${ambiguousKeys.length} escalated as ambiguous), max per target ${Math.max(...[...byId.values()].map((l) => l.length))}`,
    `closed incident lifetimes: min ${lifetimes[0] ?? 0} ms, median ${lifetimes[Math.floor(lifetimes.length / 2)] ?? 0} ms, max ${lifetimes.at(-1) ?? 0} ms`,
    `events lost: ${lost.length}, absorbed twice: ${absorbedTwice.length}, dead-lettered: ${deadLettered}, overlapping incidents: ${overlaps.length}`,
    `effect lines: ${lines.length} for ${perKey.size} keys, doubled: ${doubled.length}; ambiguous steps ${ambiguousKeys.length}, of which ran once ${ambiguousKeys.filter((k) => perKey.get(k) === 1).length}, never ${ambiguousKeys.filter((k) => !perKey.has(k)).length}, twice ${ambiguousRanTwice.length}`,
    `append steps retried after a kill: ${retriedSteps}; events the intake gave back to JetStream while Temporal was away: ${nacked}`,
    `settled ${((settledAt - stormEndedAt) / 1000).toFixed(1)} s after the storm; total ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
  ];
  for (const line of figures) {
    console.log(`storm: ${line}`);
    t.diagnostic(line);
  }
  assert.ok(runs.length > TARGETS.length, 'targets had more than one incident each on average, so reopening was exercised');
  assert.ok(completeLedgers, 'every incident lists all its event ids (fewer than the ledger bound), so the id check covered every event');
});
