import type { LatencySummary } from './report-types';

/** Nearest-rank percentile of sorted samples; `q` in (0, 1]. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** p50 / p99 / max of latency samples in milliseconds. */
export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] as number };
}

/** Milliseconds with precision that suits their size: "0.42 ms", "8.1 ms", "230 ms", "3.40 s". */
export function formatMs(ms: number): string {
  if (ms >= 1_000) return `${(ms / 1_000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** "p50 8.1 ms · p99 40 ms · max 90 ms (n=1000)". */
export function formatSummary(s: LatencySummary): string {
  return `p50 ${formatMs(s.p50)} · p99 ${formatMs(s.p99)} · max ${formatMs(s.max)} (n=${s.n})`;
}

/** A ratio for the table: two significant decimals. */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}

/** Events or operations per second, rounded. */
export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}
