/**
 * Milliseconds since the epoch with sub-millisecond resolution, on the same
 * clock as Date.now(): for timings set beside server timestamps (JetStream's
 * stored time, Temporal's history), where Date.now()'s whole milliseconds are
 * too coarse.
 */
export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
