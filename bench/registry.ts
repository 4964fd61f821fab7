import { cliLatency } from './cli-latency';
import { eventToStart } from './event-to-start';
import { ingest } from './ingest';
import { stepOverhead } from './step-overhead';
import { timeToHeal } from './time-to-heal';
import { waitingIncidents } from './waiting-incidents';
import type { BenchContext, BenchSection } from './report-types';

/** A benchmark the runner knows, in report order. */
export interface Benchmark {
  id: string;
  run: (ctx: BenchContext) => Promise<BenchSection>;
}

/** Every benchmark, in the order the report lists them. */
export const BENCHMARKS: readonly Benchmark[] = [
  { id: 'event-to-start', run: eventToStart },
  { id: 'ingest', run: ingest },
  { id: 'step-overhead', run: stepOverhead },
  { id: 'waiting-incidents', run: waitingIncidents },
  { id: 'time-to-heal', run: timeToHeal },
  { id: 'cli-latency', run: cliLatency },
];
