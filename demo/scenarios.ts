import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config';
import { waitFor } from '../stack/wait-for';
import type { HumanRequest, IncidentState } from '../schemas/incident-state';
import { awaitNewRun, declineForHuman, DEMO_INCIDENT_ID, DemoScenarioError, followIncident, type Followed } from './follow-incident';
import { startDemoEngine, type DemoEngine } from './engine';
import { fleetServers, processesUsing, startFleet, type Fleet } from './fleet';
import { dataIdentical, type StandbyMode } from './fleet-files';
import { DEMO_SERVICE, demoLayout, pickDemoPorts, PRIMARY, STANDBY, type DemoLayout } from './layout';
import { startLoad, type LoadGenerator } from './load-generator';
import { DEFAULT_PROBE_INTERVAL_MS, startProber, type Prober } from './prober';
import type { DemoReport, IncidentSummary, RecoveryPoint, RoundReport, TimelineEntry } from './report';
import { listSnapshots, newestVerified, type SnapshotInfo } from '../activities/adapters/snapshots';

/** The scenarios `runbook demo` can play. */
export const SCENARIOS = ['crash', 'hang', 'false-alarm', 'flap', 'disk-loss'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What each scenario does, as the report's title says it. */
export const SCENARIO_DESCRIPTIONS: Record<ScenarioName, string> = {
  crash: 'SIGKILL the primary; the runbook fails over to the standby, heals the primary and fails back',
  hang: 'SIGSTOP the primary (alive but not answering); same remediation as a crash',
  'false-alarm': 'the primary misses one probe and recovers during confirmation; nothing is changed',
  flap: 'the primary crashes again and again; automation stops and asks a human',
  'disk-loss': "delete the primary's data directory and SIGKILL it; the standby is restored from the newest verified backup",
};

/** How long disk-loss waits for the backup runbook's first verified snapshot. @default 60000 */
const FIRST_BACKUP_TIMEOUT_MS = 60_000;

/** Crash rounds the flap scenario plays at most before giving up on seeing an escalation. */
export const MAX_FLAP_ROUNDS = 5;
/** Model version the primary serves; every answer through HAProxy should come from it. */
const CURRENT_MODEL_VERSION = 2;

/** Options of runScenario. */
export interface ScenarioOptions {
  /** The running stack's configuration (Temporal, NATS, namespace, mode). */
  config: Config;
  /** Directory for this run's files (replaced), e.g. `<stateDir>/demo`. */
  demoDir: string;
  /** Approve the runbook's fail-back without asking. */
  autoApprove: boolean;
  /** Asks the person running the demo; true approves. Required unless autoApprove. */
  ask?: (question: string, signal: AbortSignal) => Promise<boolean>;
  /** The console page of the demo incident, offered beside the question. */
  consoleUrl?: string | undefined;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Base URL of the Temporal Web UI, for links in the report. */
  temporalUiUrl?: string;
  /** The `runbook audit` command line for an incident id. */
  auditCommand?: (incidentId: string) => string;
  /** Longest wait for one incident when nobody has to be asked. @default 120000 */
  incidentTimeoutMs?: number;
  /** How the standby waits for a failover. @default 'hot' */
  standby?: StandbyMode;
  /** Aborting stops the scenario and tears everything down (Ctrl-C). */
  signal?: AbortSignal;
}

/** A scenario run: the report plus the raw incident states, for tests. */
export interface ScenarioResult {
  report: DemoReport;
  incidents: IncidentState[];
  /** Human requests that were not the runbook's own approval (flapping, blast radius, escalations). */
  escalations: HumanRequest[];
}

/**
 * Stops for what a scenario started, run newest first. Once run, anything
 * added later (a start that finished after an interruption) stops at once.
 */
export class Teardown {
  private readonly stops: (() => Promise<void>)[] = [];
  private done = false;

  add(stop: () => Promise<void>): void {
    if (this.done) void stop().catch(() => undefined);
    else this.stops.push(stop);
  }

  async run(): Promise<void> {
    this.done = true;
    for (const stop of this.stops.reverse()) await stop().catch(() => undefined);
  }
}

export interface Running {
  layout: DemoLayout;
  engine: DemoEngine;
  fleet: Fleet;
  prober: Prober;
  load: LoadGenerator;
  /** Start of the latest stretch of steady traffic: after start-up, or after the last incident closed. */
  steadySince: number;
  timeline: TimelineEntry[];
  note(what: string, at?: number): void;
}


export async function bringUp(opts: ScenarioOptions, timeline: TimelineEntry[], cleanup: Teardown, withBackups: boolean): Promise<Running> {
  const log = opts.log ?? (() => undefined);
  const noted = new Set<string>();
  const note = (what: string, at = Date.now()): void => {
    // Steps are noted from the incident's state, which may be read more than once.
    const key = `${at}:${what}`;
    if (noted.has(key)) return;
    noted.add(key);
    timeline.push({ at, what });
  };
  const layout = demoLayout(opts.demoDir, await pickDemoPorts());
  const leftovers = processesUsing(layout.dir);
  if (leftovers.length > 0) {
    // A worker left on the demo queue with an old services file would take this run's tasks.
    throw new DemoScenarioError(`processes of an interrupted demo run in ${layout.dir} are still running (pids ${leftovers.join(', ')}); stop them first`);
  }
  log(`demo files in ${layout.dir}`);
  const fleet = await startFleet(layout, { standby: opts.standby ?? 'hot', backups: withBackups });
  cleanup.add(() => fleet.stop());
  log(`HAProxy on ${layout.frontendUrl} in front of primary :${layout.ports.primary} and ${fleet.standby} standby :${layout.ports.standby}`);
  log('starting the demo worker and intake (the worker may take a few seconds to load its workflows)');
  const engine = await startDemoEngine(opts.config, layout);
  cleanup.add(() => engine.stop());
  const prober = startProber({
    nc: engine.nc,
    service: DEMO_SERVICE,
    instances: [
      { target: PRIMARY, healthUrl: layout.primaryHealthUrl, labels: { role: 'primary' } },
      { target: STANDBY, healthUrl: layout.standbyHealthUrl, labels: { role: 'standby' } },
    ],
    onEvent: (e) => {
      if (e.type === 'fault_published') note(`prober: ${e.target} failed a probe (${e.detail}); fault published`, e.at);
      if (e.type === 'resolved_published') note(`prober: ${e.target} healthy again; resolved published`, e.at);
    },
  });
  cleanup.add(() => prober.stop());
  await waitFor('the prober to see the primary up', 15_000, () => prober.state(PRIMARY) === 'up');
  // The steady window starts with the load, so it holds the requests answered before the first fault however soon that comes.
  const loadStartedAt = Date.now();
  const load = startLoad({ url: layout.frontendUrl, expectModelVersion: CURRENT_MODEL_VERSION });
  cleanup.add(async () => void (await load.stop()));
  await waitFor('steady traffic through HAProxy', 15_000, () => load.stats().ok >= 10);
  log(`steady: ${load.stats().ok} requests answered through HAProxy, prober watching every ${DEFAULT_PROBE_INTERVAL_MS} ms`);
  return { layout, engine, fleet, prober, load, steadySince: loadStartedAt, timeline, note };
}

function summarize(state: IncidentState, runId: string, opts: ScenarioOptions, followed: Followed): IncidentSummary {
  const { escalation } = followed;
  const ownApproval = state.requests.find((q) => followed.approvals.includes(q.requestId));
  const ui = opts.temporalUiUrl
    ? `${opts.temporalUiUrl}/namespaces/${encodeURIComponent(opts.config.namespace)}/workflows/${encodeURIComponent(state.incidentId)}/${runId}/history`
    : undefined;
  return {
    incidentId: state.incidentId,
    runId,
    status: state.status,
    ...(state.outcome ? { outcome: state.outcome } : {}),
    openedAt: Date.parse(state.openedAt),
    ...(state.closedAt ? { closedAt: Date.parse(state.closedAt) } : {}),
    steps: state.steps.map((s) => ({ id: s.id, kind: s.kind, status: s.status, attempts: s.attempts.length, ...(s.summary ?? s.skipReason ? { summary: s.summary ?? s.skipReason } : {}) })),
    ...(escalation ? { escalation: `${escalation.type} for ${escalation.step}: ${escalation.reason}` } : {}),
    ...(ownApproval?.decidedAt ? { approvalWaitMs: Date.parse(ownApproval.decidedAt) - Date.parse(ownApproval.requestedAt) } : {}),
    ...(ui ? { uiUrl: ui } : {}),
    auditCommand: (opts.auditCommand ?? ((id: string) => `npx runbook audit ${id}`))(state.incidentId),
  };
}

function noteSteps(r: Running, state: IncidentState): void {
  r.note(`incident ${state.incidentId} opened (${state.runbook?.name ?? 'no runbook'})`, Date.parse(state.openedAt));
  for (const s of state.steps) {
    if (s.startedAt && s.finishedAt) r.note(`  ${s.id} ${s.status}${s.summary ? `: ${s.summary}` : ''}`, Date.parse(s.finishedAt));
  }
  if (state.closedAt) r.note(`incident closed: ${state.status}${state.outcome ? ` (${state.outcome})` : ''}`, Date.parse(state.closedAt));
}

/**
 * Waits for the first verified snapshot of the primary's data: the demo
 * worker's freshness watch finds the repository empty, raises backup_stale,
 * and the demo backup runbook takes and verifies one.
 */
async function firstBackup(r: Running, opts: ScenarioOptions): Promise<SnapshotInfo> {
  const log = opts.log ?? (() => undefined);
  log('waiting for the first backup: the freshness watch raises backup_stale on the empty repository, the backup runbook takes a snapshot');
  let newest: SnapshotInfo | undefined;
  await waitFor('the backup runbook to take a verified snapshot of the primary', FIRST_BACKUP_TIMEOUT_MS, async () => {
    newest = newestVerified(await listSnapshots(r.layout.backupRepository));
    return newest !== undefined;
  }, 200);
  if (!newest) throw new DemoScenarioError('no verified snapshot');
  r.note(`backup: snapshot ${newest.id} of the primary taken and verified (${newest.manifest.files} files) by the backup runbook`, newest.createdAt);
  log(`backup ${newest.id} verified`);
  return newest;
}

/** The restore step's report of the snapshot it restored, if the incident restored one. */
function recoveryPointOf(state: IncidentState): RecoveryPoint | undefined {
  const step = state.steps.find((s) => s.kind === 'restore_data' && s.status === 'succeeded');
  const out = step?.output;
  if (!out || typeof out.snapshot !== 'string' || typeof out.age_seconds !== 'number') return undefined;
  return { snapshot: out.snapshot, createdAt: String(out.created_at), ageSeconds: out.age_seconds };
}

/** Injects one fault, follows the incident it opens, and measures the round. */
async function playRound(r: Running, opts: ScenarioOptions, seen: Set<string>, kind: 'crash' | 'hang' | 'hiccup' | 'disk-loss'): Promise<{ round: RoundReport; state: IncidentState; escalation?: HumanRequest }> {
  const log = opts.log ?? (() => undefined);
  // A real fault lands anywhere in the prober's cycle; without this the demo's
  // own start-up fixes the phase and time to detect is always the same.
  await new Promise((res) => setTimeout(res, Math.random() * DEFAULT_PROBE_INTERVAL_MS));
  const failedBefore = r.load.stats().failed;
  const faultsBefore = r.prober.events.length;
  const injectedAt = Date.now();
  if (kind === 'disk-loss') await rm(r.layout.primaryDataDir, { recursive: true, force: true });
  const signal = kind === 'crash' || kind === 'disk-loss' ? 'SIGKILL' : 'SIGSTOP';
  const pid = await r.fleet.signalPrimary(signal);
  const injection =
    kind === 'crash'
      ? `SIGKILL sent to the primary (pid ${pid})`
      : kind === 'disk-loss'
        ? `primary's data directory deleted and SIGKILL sent to the primary (pid ${pid})`
        : kind === 'hang'
          ? `SIGSTOP sent to the primary (pid ${pid}): alive, not answering`
          : `primary paused (SIGSTOP, pid ${pid}) until it misses one probe`;
  r.note(injection, injectedAt);
  log(injection);
  const detected = (): number | undefined => r.prober.events.slice(faultsBefore).find((e) => e.type === 'fault_published' && e.target === PRIMARY)?.at;
  if (kind === 'hiccup') {
    await waitFor('the prober to miss a probe', 10_000, () => detected() !== undefined, 20);
    await r.fleet.signalPrimary('SIGCONT');
    r.note('primary continued (SIGCONT)');
  }
  const { handle, runId } = await awaitNewRun(r.engine.client, injectedAt, seen, 30_000);
  log(`incident ${DEMO_INCIDENT_ID} opened; following it`);
  const followed = await followIncident(handle, {
    client: r.engine.client,
    autoApprove: opts.autoApprove,
    ...(opts.ask ? { ask: opts.ask } : {}),
    consoleUrl: opts.consoleUrl,
    log,
    note: r.note,
    timeoutMs: opts.incidentTimeoutMs ?? 120_000,
    decisionKey: r.engine.decisionKey,
  });
  const { escalation } = followed;
  const state = escalation ? await declineForHuman(r.engine.client, handle, escalation, r.note, r.engine.decisionKey) : followed.state;
  noteSteps(r, state);
  const recordFile = join(r.layout.dir, 'incidents', `${runId}.json`);
  await mkdir(dirname(recordFile), { recursive: true });
  await writeFile(recordFile, `${JSON.stringify(state, null, 2)}\n`);
  const after = r.load.stats();
  const failedRequests = after.failed - failedBefore;
  const endedAt = state.closedAt ? Date.parse(state.closedAt) : Date.now();
  const latency = { steady: r.load.latency(r.steadySince, injectedAt), failover: r.load.latency(injectedAt, endedAt) };
  const detectedAt = detected();
  const recoveryPoint = recoveryPointOf(state);
  const round: RoundReport = {
    injection,
    injectedAt,
    ...(detectedAt !== undefined ? { detectedAt } : {}),
    incident: { ...summarize(state, runId, opts, followed), recordFile },
    failedRequests,
    ...(failedRequests > 0 && after.recoveredAt !== undefined ? { trafficRestoredAt: after.recoveredAt } : {}),
    ...(state.outcome === 'healed' && state.closedAt ? { healedAt: Date.parse(state.closedAt) } : {}),
    latency,
    ...(recoveryPoint ? { recoveryPoint } : {}),
  };
  r.steadySince = endedAt;
  return { round, state, ...(escalation ? { escalation } : {}) };
}

async function waitSteady(r: Running): Promise<void> {
  await waitFor('the primary to be back in rotation', 60_000, async () => {
    const p = await r.fleet.server(PRIMARY);
    return r.prober.state(PRIMARY) === 'up' && p.admin === 'ready' && p.operational === 'up';
  }, 200);
}

function verdictOf(scenario: ScenarioName, result: Omit<ScenarioResult, 'report'>, data: DemoReport['data']): string {
  const last = result.incidents.at(-1);
  if (scenario === 'false-alarm') {
    const acted = last?.steps.some((s) => s.kind !== 'confirm' && s.attempts.length > 0) ?? false;
    return acted ? 'UNEXPECTED: the false alarm led to actions' : `False alarm: the incident closed as ${last?.status ?? '?'} (${last?.outcome ?? '?'}) without taking any action.`;
  }
  if (scenario === 'flap') {
    const flap = result.escalations.find((e) => e.reason.startsWith('flapping'));
    return flap ? `Flapping: after ${result.incidents.length - 1} automatic heal(s), automation stopped and asked a human: ${flap.reason}` : 'UNEXPECTED: no flapping escalation';
  }
  if (result.escalations.length > 0) return `Automation stopped and asked a human: ${result.escalations[0]?.reason ?? ''}`;
  if (last?.outcome?.startsWith('approval reject')) return 'Fail-back rejected: the standby keeps serving and the primary stays out of rotation.';
  if (scenario === 'disk-loss') {
    const rp = last ? recoveryPointOf(last) : undefined;
    if (!rp) return `Not restored from backup: ${last?.status ?? '?'} (${last?.outcome ?? '?'})`;
    return last?.outcome === 'healed' && data?.identical
      ? `Healed from backup: standby and primary restored from snapshot ${rp.snapshot}; recovery point ${rp.ageSeconds} s (data written after it is lost).`
      : `Not healed: ${last?.status ?? '?'} (${last?.outcome ?? '?'}) after restoring snapshot ${rp.snapshot}`;
  }
  return last?.outcome === 'healed' && data?.identical
    ? 'Healed: the primary is back in rotation, the standby serves the same data.'
    : `Not healed: ${last?.status ?? '?'} (${last?.outcome ?? '?'})`;
}

/**
 * Plays one scenario against a running stack: brings up the fleet, the
 * demo's worker and intake, the prober and the load, injects the fault,
 * follows the incident, measures, and tears everything down again, pass or
 * fail.
 */
export async function runScenario(scenario: ScenarioName, opts: ScenarioOptions): Promise<ScenarioResult> {
  const cleanup = new Teardown();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new DemoScenarioError('the demo was interrupted'));
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([play(scenario, opts, cleanup), aborted]);
  } finally {
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    await cleanup.run();
  }
}

/** Whether the scenario showed what it is meant to show. */
export function scenarioSucceeded(scenario: ScenarioName, result: ScenarioResult): boolean {
  const last = result.incidents.at(-1);
  if (scenario === 'false-alarm') return !!last?.closedAt && !last.steps.some((s) => s.kind !== 'confirm' && s.attempts.length > 0);
  if (scenario === 'flap') return result.escalations.some((e) => e.reason.startsWith('flapping'));
  if (scenario === 'disk-loss' && (!last || !recoveryPointOf(last))) return false;
  return last?.outcome === 'healed' && result.report.data?.identical === true;
}

async function play(scenario: ScenarioName, opts: ScenarioOptions, cleanup: Teardown): Promise<ScenarioResult> {
  const timeline: TimelineEntry[] = [];
  const r = await bringUp(opts, timeline, cleanup, scenario === 'disk-loss');
  if (scenario === 'disk-loss') await firstBackup(r, opts);
  const seen = new Set<string>();
  const rounds: RoundReport[] = [];
  const incidents: IncidentState[] = [];
  const escalations: HumanRequest[] = [];
  const kind = scenario === 'hang' ? 'hang' : scenario === 'false-alarm' ? 'hiccup' : scenario === 'disk-loss' ? 'disk-loss' : 'crash';
  const maxRounds = scenario === 'flap' ? MAX_FLAP_ROUNDS : 1;
  for (let i = 0; i < maxRounds; i++) {
    if (i > 0) await waitSteady(r);
    const played = await playRound(r, opts, seen, kind);
    const state = played.state;
    if (played.escalation) escalations.push(played.escalation);
    rounds.push(played.round);
    incidents.push(state);
    if (played.escalation || state.outcome !== 'healed') break;
  }
  const stats = await r.load.stop();
  const synced = incidents.some((s) => s.steps.some((step) => (step.kind === 'sync_data' || step.kind === 'restore_data') && step.status === 'succeeded'));
  const data = synced ? await dataIdentical(r.layout.primaryDataDir, r.layout.standbyDataDir) : undefined;
  const servers = Object.fromEntries(Object.entries(await fleetServers(r.fleet)).map(([k, v]) => [k, { admin: v.admin, operational: v.operational }]));
  const partial = { incidents, escalations };
  const report: DemoReport = {
    scenario,
    description: SCENARIO_DESCRIPTIONS[scenario],
    rounds,
    timeline,
    load: stats,
    ...(data ? { data } : {}),
    servers,
    verdict: verdictOf(scenario, partial, data),
  };
  return { report, ...partial };
}
