/** How the supervisor restarts a component that died on its own. */
export interface RestartPolicy {
  /** Wait before the first restart. @default 500 ms */
  initialDelayMs: number;
  /** The wait doubles on each crash up to this bound. @default 30 s */
  maxDelayMs: number;
  /** A component that stayed up this long after becoming healthy starts again from the initial wait. @default 60 s */
  resetAfterMs: number;
  /** More crashes than this within {@link windowMs} and the component is given up as failed. @default 5 */
  maxRestarts: number;
  /** @default 5 min */
  windowMs: number;
}

/**
 * Five restarts in five minutes: the waits add up to 0.5 + 1 + 2 + 4 + 8 = 15.5 s,
 * plus each start-up, so the supervisor rides out a dependency that is itself
 * restarting (Temporal or NATS take a few seconds) yet names a component that
 * cannot start (bad configuration, a port taken by someone else) within about a
 * minute, instead of spinning on it and filling its log.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  resetAfterMs: 60_000,
  maxRestarts: 5,
  windowMs: 5 * 60_000,
};

/** What to do about one exit. */
export type RestartDecision = { action: 'restart'; delayMs: number; restartsInWindow: number } | { action: 'give-up'; restartsInWindow: number };

/** Crash history of one component; plain data, so the policy is testable without processes or clocks. */
export interface RestartHistory {
  /** Consecutive crashes since the last reset; sets the backoff. */
  consecutive: number;
  /** Times of recent crashes (ms), oldest first. */
  crashes: number[];
}

/** A component that has not crashed yet. */
export function emptyHistory(): RestartHistory {
  return { consecutive: 0, crashes: [] };
}

/**
 * Decides about an exit at `now` of a component that became healthy at
 * `healthySince` (undefined when it died before it got there).
 */
export function decideRestart(policy: RestartPolicy, history: RestartHistory, now: number, healthySince: number | undefined): { decision: RestartDecision; history: RestartHistory } {
  const stayedUp = healthySince !== undefined && now - healthySince >= policy.resetAfterMs;
  const consecutive = stayedUp ? 0 : history.consecutive;
  const crashes = [...history.crashes.filter((t) => now - t < policy.windowMs), now];
  const next: RestartHistory = { consecutive: consecutive + 1, crashes };
  if (crashes.length > policy.maxRestarts) return { decision: { action: 'give-up', restartsInWindow: crashes.length - 1 }, history: next };
  const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** consecutive);
  return { decision: { action: 'restart', delayMs, restartsInWindow: crashes.length }, history: next };
}
