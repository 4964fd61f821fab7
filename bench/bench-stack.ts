import type { NatsConnection } from 'nats';
import type { Config } from '../config/config';
import type { NatsConnectExtras } from '../config/nats-connect';
import type { NatsRole } from '../config/nats-permissions';
import { startIsolatedStack } from '../stack/isolated-stack';

/** Which engines a benchmark runs on. */
export type StackKind = 'embedded' | 'cluster';

/** Every stack kind, in report order. */
export const STACK_KINDS: readonly StackKind[] = ['embedded', 'cluster'];

/**
 * A private set of servers (Temporal and NATS) on free loopback ports and a
 * fresh state directory. Benchmarks start our own processes (intake, workers)
 * against it themselves, so the same benchmark measures either kind.
 */
export interface BenchStack {
  kind: StackKind;
  config: Config;
  /** Environment that points our processes (worker, intake, CLI) at this stack. */
  env: NodeJS.ProcessEnv;
  /** A NATS connection to this stack as `role`, with that role's generated credential. */
  natsConnect(role: NatsRole, extras?: NatsConnectExtras): Promise<NatsConnection>;
  /** Stops every process of the stack and removes its state directory. */
  stop(): Promise<void>;
}

/** What a benchmark asks of a stack. */
export interface BenchStackOptions {
  /** Also run our intake process on it (the stack's default task queue, default settings). */
  intake?: boolean;
  overrides?: Partial<Record<keyof Config, unknown>>;
}

/** How the report names the Temporal server of a stack kind and what bounds its writes. */
export function temporalServerOf(kind: StackKind): string {
  return kind === 'embedded' ? 'the Temporal dev server (SQLite, fsync per commit)' : 'the Temporal server on PostgreSQL';
}

/** Starts stacks of one kind for the benchmarks of a run. */
export interface StackProvider {
  kind: StackKind;
  /** The engines, for the report, e.g. "Temporal dev server (SQLite), one nats-server". */
  engines: string;
  start(opts?: BenchStackOptions): Promise<BenchStack>;
}

/** Options every stack of a run shares. */
export interface StackProviderOptions {
  /** Pre-built workflow bundle our workers load (see BenchContext.workflowBundle). */
  workflowBundle: string;
}

/** The light stack `npm start` runs: the Temporal dev server on SQLite and one nats-server. */
export function embeddedStacks(opts: StackProviderOptions): StackProvider {
  return {
    kind: 'embedded',
    engines: 'Temporal dev server (SQLite on disk), one nats-server (JetStream on disk, fsync before ack)',
    async start(o = {}) {
      const stack = await startIsolatedStack({
        workflowBundle: opts.workflowBundle,
        dirPrefix: 'runbook-bench-',
        ...(o.intake ? { intake: true } : {}),
        ...(o.overrides ? { overrides: o.overrides } : {}),
      });
      return { kind: 'embedded', config: stack.config, env: stack.env, natsConnect: stack.natsConnect, stop: () => stack.stop() };
    },
  };
}
