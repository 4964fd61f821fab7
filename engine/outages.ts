/*
 * Pure, and free of imports so workflow code can use it: how a drill's probes (the write canary and the load) turn a series of
 * attempts into outages. An outage is a run of failed attempts: `from` is the
 * time of its first failure, `to` the time of the first success after it. The
 * probes run in chunks, one activity each, so an outage still open at the end
 * of one chunk is handed to the next (`openOutage`), which closes it.
 */

/** A run of failed attempts; `to` is absent while it is still going on. */
export interface Outage {
  from: string;
  to?: string;
}

/** Outages seen so far: the closed ones, and the start of the one under way. Plain data, so it can travel in heartbeats. */
export interface OutageState {
  closed: Outage[];
  open?: string;
}

/** The state at the start of a chunk, carrying on the outage the previous chunk left open. */
export function startOutages(openOutage?: string): OutageState {
  return openOutage === undefined ? { closed: [] } : { closed: [], open: openOutage };
}

/** Records one attempt made at `at` (attempts must be recorded in the order they were made). */
export function recordAttempt(state: OutageState, ok: boolean, at: string): void {
  if (ok && state.open !== undefined) {
    state.closed.push({ from: state.open, to: at });
    delete state.open;
  } else if (!ok && state.open === undefined) {
    state.open = at;
  }
}

/**
 * Every outage of the chunk, oldest first; one still open comes last without
 * `to`. An outage handed in as `openOutage` keeps its original `from`, so the
 * caller replaces the open outage it had with this list's first entry rather
 * than adding both.
 */
export function chunkOutages(state: OutageState): Outage[] {
  return state.open === undefined ? [...state.closed] : [...state.closed, { from: state.open }];
}

/** The `from` of the outage still open at the end, to hand to the next chunk. */
export function stillOpen(outages: readonly Outage[]): string | undefined {
  const last = outages[outages.length - 1];
  return last && last.to === undefined ? last.from : undefined;
}

/**
 * The outages of a probe so far with those of its next chunk appended; the
 * chunk's first outage replaces the open one it carried on (same `from`).
 */
export function mergeOutages(sofar: readonly Outage[], chunk: readonly Outage[]): Outage[] {
  const open = stillOpen(sofar);
  const carried = open !== undefined && chunk[0]?.from === open;
  return [...(carried ? sofar.slice(0, -1) : sofar), ...chunk];
}
