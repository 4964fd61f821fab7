import type { IncidentState } from '../../schemas/incident-state';

/*
 * The storm's bookkeeping, as plain data so it is unit-tested on planted
 * cases: what was acknowledged, what Temporal lists, what the effect log
 * holds, and the four figures the storm asserts are zero.
 */

/** One incident run as visibility lists it, with its final (or last known) state. */
export interface StormRun {
  workflowId: string;
  runId: string;
  startMs: number;
  /** Absent while the run is open. */
  closeMs?: number;
  state?: IncidentState;
}

/** One line of the effect log: the side effect's own record of a run. */
export interface EffectLine {
  target: string;
  key: string;
}

/** The step of the storm's runbook whose side effect is counted. */
export const EFFECT_STEP = 'append';

/** What the storm counts; every list names the offenders so a failure says which. */
export interface StormCount {
  acked: number;
  /** Acknowledged event ids in no incident's ledger and not dead-lettered. */
  lost: string[];
  /** Event ids held by two incidents' ledgers. */
  absorbedTwice: string[];
  /** Targets whose absorbed count differs from what was acknowledged for them. */
  miscounted: string[];
  /** For each miscounted target, what each of its runs absorbed, so a failure shows where the difference is. */
  miscountDetail: string[];
  /** `incident id: run a open when run b started`. */
  overlaps: string[];
  /** Idempotency keys appended more than once. */
  duplicates: string[];
  /** Keys in the log that belong to no listed run of their target. */
  strayKeys: string[];
  /** Runs whose effect step succeeded yet whose key is not in the log exactly once. */
  succeededNotOnce: string[];
  /** Runs still open. */
  stuck: string[];
  incidents: number;
  /** Runs by final status (`resolved`, …; `open` for runs not closed). */
  byStatus: Record<string, number>;
  /** Effect steps skipped because a killed attempt left their outcome unknown, and how often that effect had run. */
  ambiguous: { steps: number; ranOnce: number; ranNever: number };
  /** Whether every ledger was short enough to list all its ids, so `lost` covered every event. */
  ledgersComplete: boolean;
  effectLines: number;
  maxIncidentsPerTarget: number;
  /** Open-to-close times of the closed runs. */
  lifetimeMs: { min: number; p50: number; max: number };
}

/** The idempotency key a run's effect step received (workflows/effect-keys.ts; storm incidents never continue-as-new). */
export function effectKeyOf(run: Pick<StormRun, 'workflowId' | 'runId' | 'state'>): string {
  return `${run.workflowId}/${run.runId}/${EFFECT_STEP}/e${run.state?.epoch ?? 0}`;
}

/** Parses the effect log: one `<target> <key>` line per run of the command. */
export function parseEffectLog(text: string): EffectLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [target = '', key = ''] = line.split(' ');
      return { target, key };
    });
}

/**
 * Counts a storm. `acked` maps each target to the ids JetStream acknowledged
 * for it; `deadLettered` holds the ids the intake dead-lettered (each with a
 * reason elsewhere); `incidentPrefix` is `incident/<service>/`.
 */
export function countStorm(input: { acked: Map<string, string[]>; deadLettered: Set<string>; runs: StormRun[]; lines: EffectLine[]; incidentPrefix: string }): StormCount {
  const { acked, deadLettered, runs, lines, incidentPrefix } = input;
  const holders = new Map<string, number>();
  const absorbedBy = new Map<string, number>();
  let ledgersComplete = true;
  for (const run of runs) {
    const faults = run.state?.faults;
    if (!faults) continue;
    absorbedBy.set(run.state?.target ?? '', (absorbedBy.get(run.state?.target ?? '') ?? 0) + faults.count);
    if (faults.recentEventIds.length < faults.count) ledgersComplete = false;
    for (const id of faults.recentEventIds) holders.set(id, (holders.get(id) ?? 0) + 1);
  }
  const allAcked = [...acked.values()].flat();
  const lost = allAcked.filter((id) => !holders.has(id) && !deadLettered.has(id));
  const absorbedTwice = [...holders].filter(([, n]) => n > 1).map(([id]) => id);
  const miscounted = [...acked].filter(([target, ids]) => (absorbedBy.get(target) ?? 0) !== ids.filter((id) => !deadLettered.has(id)).length).map(([target]) => target);
  const miscountDetail = miscounted.map((target) => describeMiscount(target, acked.get(target) ?? [], runs, holders));

  const byId = new Map<string, StormRun[]>();
  for (const run of runs) byId.set(run.workflowId, [...(byId.get(run.workflowId) ?? []), run]);
  const overlaps: string[] = [];
  for (const [id, list] of byId) {
    list.sort((a, b) => a.startMs - b.startMs);
    for (let i = 0; i + 1 < list.length; i++) {
      const a = list[i] as StormRun;
      const b = list[i + 1] as StormRun;
      if (a.closeMs === undefined || a.closeMs > b.startMs) overlaps.push(`${id}: ${a.runId} open when ${b.runId} started`);
    }
  }

  const perKey = new Map<string, number>();
  for (const { key } of lines) perKey.set(key, (perKey.get(key) ?? 0) + 1);
  const duplicates = [...perKey].filter(([, n]) => n > 1).map(([key]) => key);
  const runKeys = new Set(runs.map(effectKeyOf));
  const strayKeys = lines.filter(({ target, key }) => !runKeys.has(key) || !key.startsWith(`${incidentPrefix}${target}/`)).map(({ key }) => key);
  const effectStep = (run: StormRun) => run.state?.steps.find((s) => s.id === EFFECT_STEP);
  const succeededNotOnce = runs.filter((run) => effectStep(run)?.status === 'succeeded' && perKey.get(effectKeyOf(run)) !== 1).map(effectKeyOf);
  const ambiguousRuns = runs.filter((run) => effectStep(run)?.status === 'skipped');

  const lifetimes = runs.flatMap((run) => (run.closeMs === undefined ? [] : [run.closeMs - run.startMs])).sort((a, b) => a - b);
  const byStatus: Record<string, number> = {};
  for (const run of runs) {
    const status = run.closeMs === undefined ? 'open' : (run.state?.status ?? 'unknown');
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  return {
    acked: allAcked.length,
    lost,
    absorbedTwice,
    miscounted,
    miscountDetail,
    overlaps,
    duplicates,
    strayKeys,
    succeededNotOnce,
    stuck: runs.filter((run) => run.closeMs === undefined).map((run) => `${run.workflowId} ${run.runId} (${run.state?.status ?? 'no state'})`),
    incidents: runs.length,
    byStatus,
    ambiguous: {
      steps: ambiguousRuns.length,
      ranOnce: ambiguousRuns.filter((run) => perKey.get(effectKeyOf(run)) === 1).length,
      ranNever: ambiguousRuns.filter((run) => !perKey.has(effectKeyOf(run))).length,
    },
    ledgersComplete,
    effectLines: lines.length,
    maxIncidentsPerTarget: Math.max(0, ...[...byId.values()].map((l) => l.length)),
    lifetimeMs: { min: lifetimes[0] ?? 0, p50: lifetimes[Math.floor(lifetimes.length / 2)] ?? 0, max: lifetimes.at(-1) ?? 0 },
  };
}

/** `target: acked n; run r (status): count c, ids not acked for it […], ids another run holds too […]`. */
function describeMiscount(target: string, acked: readonly string[], runs: readonly StormRun[], holders: ReadonlyMap<string, number>): string {
  const ackedIds = new Set(acked);
  const parts = runs
    .filter((run) => run.state?.target === target || run.workflowId.endsWith(`/${target}`))
    .map((run) => {
      const ids = run.state?.faults.recentEventIds ?? [];
      const notAcked = ids.filter((id) => !ackedIds.has(id));
      const shared = ids.filter((id) => (holders.get(id) ?? 0) > 1);
      return `run ${run.runId} (${run.state?.status ?? 'no state'}, ${run.closeMs === undefined ? 'open' : 'closed'}): count ${run.state?.faults.count ?? '?'}, ${ids.length} ids, not acked for it [${notAcked.join(' ')}], held by another run too [${shared.join(' ')}]`;
    });
  return `${target}: acked ${acked.length}; ${parts.join('; ')}`;
}
