/*
 * Where replication lag is defined and judged. Pure, so the replication
 * watch, its gauges and its tests agree on one answer.
 *
 * Lag is how far back in time the replica is known to be complete: every
 * change made to the source before a copy *started* is in the replica once
 * that copy succeeds, so lag = now − start of the newest successful copy.
 * Before the first success it counts from when the watch started, so a
 * freshly started watch does not raise a fault at once but does once the
 * first copy has failed for longer than the bound. With an idle source and
 * copies every `interval` taking `d`, lag stays below interval + d.
 */

/** What the lag is measured from. */
export interface LagClock {
  /** When the watch started, ms since the epoch. */
  watchStartedAt: number;
  /** Start of the newest successful copy, ms since the epoch. */
  lastSuccessStartedAt?: number;
}

/** Replication lag in seconds at `now` (never negative). */
export function replicationLagSeconds(clock: LagClock, now: number): number {
  const since = clock.lastSuccessStartedAt ?? clock.watchStartedAt;
  return Math.max(0, now - since) / 1000;
}

/**
 * Whether copies are held back: `fenced` when the source's load-balancer
 * server is out of rotation or down, so the replica may be serving;
 * `unknown` when that could not be read (copies are held back too, but the
 * lag counts toward a fault, since nothing decided to stop them).
 */
export type FenceState = 'open' | 'fenced' | 'unknown';

/** Fault state of a pair: `lagging` once a firing fault is stored. */
export type LagFaultState = 'ok' | 'lagging';

/** What to publish after a look at the lag. */
export type LagVerdict = 'fire' | 'resolve' | 'none';

/**
 * The fault to publish: fire when the lag passes `maxLagSeconds` while
 * replication is meant to run, resolve once it is back within the bound.
 * While fenced nothing is published: the replica is (or may be) the serving
 * copy, the failover runbook owns it, and an open fault stays open until
 * copies resume and catch up.
 */
export function lagVerdict(input: { lagSeconds: number; maxLagSeconds: number; fence: FenceState; state: LagFaultState }): LagVerdict {
  if (input.fence === 'fenced') return 'none';
  const over = input.lagSeconds > input.maxLagSeconds;
  if (over && input.state === 'ok') return 'fire';
  if (!over && input.state === 'lagging') return 'resolve';
  return 'none';
}
