/*
 * A token bucket per client key (the remote address), used by the HTTP
 * servers to bound what one client can make them do: the intake's webhook
 * receiver takes a token per request, the approval API one per failed
 * authentication. Pure apart from the injected clock, so it is unit-tested
 * without waiting.
 */

/** How a limiter refills and how much it holds. */
export interface RateLimitOptions {
  /** Tokens a fresh bucket holds, i.e. the burst allowed. */
  capacity: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
  /** Milliseconds since some epoch. @default Date.now */
  now?: () => number;
  /**
   * Buckets kept at most; full buckets are dropped first, and when that is
   * not enough the oldest go. Bounds memory against many source addresses.
   * @default 10_000
   */
  maxKeys?: number;
}

/** The answer for one key. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Token buckets keyed by client. */
export interface RateLimiter {
  /** Takes a token for `key` when there is one; otherwise says how long until there will be. */
  take(key: string): RateDecision;
  /** Whether `key` has a token left, without taking it. */
  peek(key: string): RateDecision;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** @default maximum number of buckets a limiter keeps. */
export const DEFAULT_MAX_KEYS = 10_000;

/** A token-bucket limiter; every key starts with a full bucket. */
export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  if (!(opts.capacity >= 1) || !(opts.refillPerSecond > 0)) throw new RangeError('a rate limiter needs capacity >= 1 and refillPerSecond > 0');
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
  const buckets = new Map<string, Bucket>();

  const current = (key: string): Bucket => {
    const t = now();
    const b = buckets.get(key);
    if (!b) return { tokens: opts.capacity, at: t };
    const elapsed = Math.max(0, t - b.at) / 1000;
    return { tokens: Math.min(opts.capacity, b.tokens + elapsed * opts.refillPerSecond), at: t };
  };
  const decide = (b: Bucket): RateDecision =>
    b.tokens >= 1 ? { allowed: true } : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / opts.refillPerSecond)) };
  const store = (key: string, b: Bucket): void => {
    buckets.delete(key);
    buckets.set(key, b);
    if (buckets.size <= maxKeys) return;
    for (const k of buckets.keys()) {
      if (buckets.size <= maxKeys) return;
      if (current(k).tokens >= opts.capacity) buckets.delete(k);
    }
    // Still too many: drop the least recently touched (Map keeps insertion order).
    for (const k of buckets.keys()) {
      if (buckets.size <= maxKeys) return;
      buckets.delete(k);
    }
  };

  return {
    take(key) {
      const b = current(key);
      const decision = decide(b);
      if (decision.allowed) b.tokens -= 1;
      store(key, b);
      return decision;
    },
    peek(key) {
      return decide(current(key));
    },
  };
}
