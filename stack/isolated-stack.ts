import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { loadConfig, type Config } from '../config/config';
import { connectNats, type NatsConnectExtras } from '../config/nats-connect';
import type { NatsRole } from '../config/nats-permissions';
import { componentEnv, startLocalStack, type LocalStack } from './local-stack';
import { createLogger } from '../observability/logger';
import { freePorts, retryOnPortClash } from './ports';
import type { RestartPolicy } from './restart-policy';
import { withWebhookCredential } from './webhook-token';

/** A private stack: its own servers, free loopback ports and a fresh state directory. */
export interface IsolatedStack {
  config: Config;
  stack: LocalStack;
  /** Environment that points our processes (worker, intake, CLI) at this stack. */
  env: NodeJS.ProcessEnv;
  /** A NATS connection to this stack as `role`, with that role's generated credential. */
  natsConnect(role: NatsRole, extras?: NatsConnectExtras): Promise<NatsConnection>;
  /** Stops the stack and removes its state directory. */
  stop(): Promise<void>;
  /** Stops and starts the servers again on the same ports and state. */
  restart(): Promise<void>;
}

/** Options for {@link startIsolatedStack}. */
export interface IsolatedStackOptions {
  worker?: boolean;
  intake?: boolean;
  /** Pre-built workflow bundle the worker loads instead of the sources (development mode, so no roster is required). */
  workflowBundle?: string;
  /** Prefix of the temporary state directory's name. @default "runbook-stack-" */
  dirPrefix?: string;
  overrides?: Partial<Record<keyof Config, unknown>>;
  /** Restart a component that dies on its own, with this policy (see startLocalStack). */
  restart?: RestartPolicy;
}

/**
 * Starts Temporal and NATS (and optionally our worker and intake) on free
 * loopback ports in a fresh temporary directory, headless. The intake's
 * Alertmanager receiver takes the generated token in
 * `config.intakeWebhookTokenFile` unless the overrides configure another.
 */
export async function startIsolatedStack(opts: IsolatedStackOptions = {}): Promise<IsolatedStack> {
  // The stack checks every port it picked before binding, so a port taken meanwhile surfaces as a PortInUseError.
  return retryOnPortClash(() => startOnFreePorts(opts));
}

async function startOnFreePorts(opts: IsolatedStackOptions): Promise<IsolatedStack> {
  const stateDir = mkdtempSync(join(tmpdir(), opts.dirPrefix ?? 'runbook-stack-'));
  const [temporalPort, natsPort, natsMonitorPort, intakePort, workerMetricsPort, apiPort, temporalUiPort] = await freePorts(7);
  // The token is made before the processes' environment, so `env` carries it too.
  const config = withWebhookCredential(loadConfig(
    {
      stateDir,
      temporalPort,
      natsPort,
      natsMonitorPort,
      intakePort,
      workerMetricsPort,
      apiPort,
      temporalUiPort,
      ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : {}),
      ...opts.overrides,
    },
    {},
  ), stateDir);
  const start = (): Promise<LocalStack> =>
    startLocalStack(config, { worker: opts.worker ?? false, intake: opts.intake ?? false, headless: true, localRoster: false, ...(opts.restart ? { restart: opts.restart, logger: createLogger('stack', 'warn') } : {}) });
  let stack: LocalStack;
  try {
    stack = await start();
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
  return {
    config,
    get stack() {
      return stack;
    },
    env: componentEnv(config),
    natsConnect: (role, extras) => connectNats(config, role, extras),
    async stop() {
      await stack.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
    async restart() {
      await stack.stop();
      stack = await start();
    },
  };
}
