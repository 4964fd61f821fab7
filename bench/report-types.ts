import type { StackKind, StackProvider } from './bench-stack';

/** A latency distribution in milliseconds. */
export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** One line of a figure's table: our measurement beside its floor. */
export interface BenchRow {
  /** What was measured, e.g. "event → workflow started". */
  metric: string;
  /** Our figure, already formatted with its unit. */
  value: string;
  /** The floor measured in the same run, formatted; absent when the figure has none. */
  floor?: string;
  /** value / floor for costs (lower is better), floor / value for rates; absent without a floor. */
  ratio?: number;
  /** Set when `ratio` is a speed-up instead: our rate over the floor's (higher is better), e.g. n workers against one. */
  ratioIs?: 'speed-up';
  /** The target as written, e.g. "p50 ≤ 10 ms". */
  target?: string;
  /** Whether the target was met; absent when the row has no target. */
  met?: boolean;
}

/** One benchmark's outcome, rendered as a section of docs/benchmarks.md. */
export interface BenchSection {
  /** Stable id used on the command line, e.g. "event-to-start". */
  id: string;
  /** The engines it ran on; the runner sets it. */
  stack?: StackKind;
  title: string;
  /** How it was measured, one short paragraph. */
  method: string;
  rows: BenchRow[];
  /** Explanations: why a target was missed, what limits the figure. */
  notes: string[];
}

/** What every benchmark gets from the runner. */
export interface BenchContext {
  /** Tiny n and short durations: proves the harness works, measures nothing. */
  smoke: boolean;
  /** Progress lines for the person running the benchmarks. */
  log: (line: string) => void;
  /** A fresh directory this benchmark may use for its files. */
  workDir: string;
  /** The pre-built workflow bundle every worker of the run loads (production mode). */
  workflowBundle: string;
  /** Where this pass of the run gets its stacks: the embedded engines or the cluster. */
  stacks: StackProvider;
}
