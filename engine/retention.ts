import { parseDuration } from './duration';
import type { Retention } from '../schemas/runbook';

/*
 * Where it is decided which backup snapshots stay. Pure, so the backup action
 * and its tests agree on one answer.
 */

/** What retention needs to know of one snapshot. */
export interface RetainedSnapshot {
  id: string;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** Whether its last verification passed. */
  verified: boolean;
}

/** The verdict on each snapshot, and why it stays. */
export interface RetentionPlan {
  /** Ids kept, newest first, each with the rules that keep it. */
  keep: { id: string; reasons: string[] }[];
  /** Ids to delete, newest first. */
  remove: string[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Applies `policy` to `snapshots` at time `now`. A snapshot stays when
 * `keep_last`, `hourly` or `daily` selects it and it is not older than
 * `max_age`; the newest verified snapshot always stays, so retention never
 * leaves nothing to restore. Buckets are UTC hours and days; each bucket
 * keeps its newest snapshot, and `hourly: 24` means the 24 most recent hours
 * that have a snapshot, not the last 24 clock hours.
 */
export function planRetention(snapshots: readonly RetainedSnapshot[], policy: Retention, now: number): RetentionPlan {
  const newestFirst = [...snapshots].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  const reasons = new Map<string, string[]>();
  const add = (id: string, why: string): void => {
    reasons.set(id, [...(reasons.get(id) ?? []), why]);
  };
  if (policy.keep_last !== undefined) newestFirst.slice(0, policy.keep_last).forEach((s) => add(s.id, 'keep_last'));
  const buckets = (size: number, count: number | undefined, why: string): void => {
    if (count === undefined) return;
    const seen = new Set<number>();
    for (const s of newestFirst) {
      const bucket = Math.floor(s.createdAt / size);
      if (seen.has(bucket)) continue;
      if (seen.size >= count) break;
      seen.add(bucket);
      add(s.id, why);
    }
  };
  buckets(HOUR_MS, policy.hourly, 'hourly');
  buckets(DAY_MS, policy.daily, 'daily');
  if (policy.max_age !== undefined) {
    const oldest = now - parseDuration(policy.max_age);
    for (const s of newestFirst) if (s.createdAt < oldest) reasons.delete(s.id);
  }
  const newestVerified = newestFirst.find((s) => s.verified);
  if (newestVerified) add(newestVerified.id, 'newest verified');
  return {
    keep: newestFirst.filter((s) => reasons.has(s.id)).map((s) => ({ id: s.id, reasons: reasons.get(s.id) ?? [] })),
    remove: newestFirst.filter((s) => !reasons.has(s.id)).map((s) => s.id),
  };
}

/** Seconds between `createdAt` and `now`, never negative (a clock step back reads as 0). */
export function ageSeconds(createdAt: number, now: number): number {
  return Math.max(0, Math.round((now - createdAt) / 1000));
}
