import type { StackKind } from './bench-stack';
import { cliLatency } from './cli-latency';
import { eventToStart } from './event-to-start';
import { ingest } from './ingest';
import { stepOverhead } from './step-overhead';
import { timeToHeal } from './time-to-heal';
import { waitingIncidents } from './waiting-incidents';
import { workerScaling } from './worker-scaling';
import type { BenchContext, BenchSection } from './report-types';

/** A benchmark the runner knows, in report order. */
export interface Benchmark {
  id: string;
  run: (ctx: BenchContext) => Promise<BenchSection>;
  /** The stacks it runs on when the run covers them. */
  stacks: readonly StackKind[];
}

const BOTH: readonly StackKind[] = ['embedded', 'cluster'];

/** Every benchmark, in the order the report lists them. */
export const BENCHMARKS: readonly Benchmark[] = [
  { id: 'event-to-start', run: eventToStart, stacks: BOTH },
  { id: 'ingest', run: ingest, stacks: BOTH },
  { id: 'step-overhead', run: stepOverhead, stacks: BOTH },
  { id: 'waiting-incidents', run: waitingIncidents, stacks: BOTH },
  { id: 'time-to-heal', run: timeToHeal, stacks: BOTH },
  // Several workers on one task queue: what the cluster is for.
  { id: 'worker-scaling', run: workerScaling, stacks: ['cluster'] },
  // The CLI against `runbook up`: the same client code on either stack, so once is enough.
  { id: 'cli-latency', run: cliLatency, stacks: ['embedded'] },
];

/** The benchmarks a run covers on `stack`, optionally only those named. */
export function benchmarksFor(stack: StackKind, only?: readonly string[]): Benchmark[] {
  return BENCHMARKS.filter((b) => b.stacks.includes(stack) && (!only || only.includes(b.id)));
}
