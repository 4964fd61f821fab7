import { Prediction } from './model-server';

/** One request every 50 ms (20 per second). @default 50 */
export const DEFAULT_LOAD_INTERVAL_MS = 50;
/** A request that takes longer than this failed. @default 3000 */
export const DEFAULT_LOAD_TIMEOUT_MS = 3_000;

/** What the load generator counted. */
export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  /** Successful answers from a model other than `expectModelVersion`. */
  stale: number;
  /** Successful answers per instance. */
  byInstance: Record<string, number>;
  firstFailureAt?: number;
  lastFailureAt?: number;
  /** First success after the most recent failure: traffic restored. */
  recoveredAt?: number;
}

/** Latency of the answered requests sent within a window, in milliseconds. */
export interface LatencyWindow {
  /** Requests sent in the window, answered or not. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Options of startLoad. */
export interface LoadOptions {
  url: string;
  intervalMs?: number;
  timeoutMs?: number;
  /** Model version every answer should come from. */
  expectModelVersion?: number;
}

/** A running load generator. */
export interface LoadGenerator {
  stats(): LoadStats;
  /** Latency of the requests sent from `from` up to (not including) `to`; null when none was answered. */
  latency(from: number, to?: number): LatencyWindow | null;
  /** Stops sending and waits for requests in flight. */
  stop(): Promise<LoadStats>;
}

/**
 * Sends prediction requests through the load balancer at a steady rate, each
 * on its own schedule so a hung backend cannot slow the rate down, and counts
 * failed requests (errors, timeouts, non-2xx, malformed answers).
 */
export function startLoad(opts: LoadOptions): LoadGenerator {
  const intervalMs = opts.intervalMs ?? DEFAULT_LOAD_INTERVAL_MS;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const stats: LoadStats = { sent: 0, ok: 0, failed: 0, stale: 0, byInstance: {} };
  const inFlight = new Set<Promise<void>>();
  const answered: { sentAt: number; ms: number }[] = [];
  const sentTimes: number[] = [];

  const one = async (x: number): Promise<void> => {
    stats.sent += 1;
    const sentAt = Date.now();
    sentTimes.push(sentAt);
    let answer: Prediction | undefined;
    try {
      const res = await fetch(`${opts.url}/predict?x=${x}`, { signal: AbortSignal.timeout(timeoutMs) });
      const body: unknown = await res.json();
      if (res.ok) answer = Prediction.parse(body);
    } catch {
      answer = undefined;
    }
    const now = Date.now();
    if (!answer) {
      stats.failed += 1;
      stats.firstFailureAt ??= now;
      stats.lastFailureAt = now;
      stats.recoveredAt = undefined;
      return;
    }
    stats.ok += 1;
    answered.push({ sentAt, ms: now - sentAt });
    stats.byInstance[answer.instance] = (stats.byInstance[answer.instance] ?? 0) + 1;
    if (opts.expectModelVersion !== undefined && answer.modelVersion !== opts.expectModelVersion) stats.stale += 1;
    if (stats.lastFailureAt !== undefined && stats.recoveredAt === undefined) stats.recoveredAt = now;
  };

  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    const p = one(n % 100).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, intervalMs);

  const snapshot = (): LoadStats => ({ ...stats, byInstance: { ...stats.byInstance } });
  const latency = (from: number, to = Infinity): LatencyWindow | null => {
    const inWindow = (t: number): boolean => t >= from && t < to;
    const ms = answered.filter((a) => inWindow(a.sentAt)).map((a) => a.ms).sort((a, b) => a - b);
    if (ms.length === 0) return null;
    const at = (q: number): number => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)] ?? 0;
    return { requests: sentTimes.filter(inWindow).length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: ms.at(-1) ?? 0 };
  };
  return {
    stats: snapshot,
    latency,
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return snapshot();
    },
  };
}
