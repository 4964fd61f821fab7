import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../config/config';
import { componentEnv, startLocalStack, type LocalStack } from '../../stack/local-stack';
import { freePorts } from '../../stack/ports';

/** A private stack for one test file: its own servers, ports and state directory. */
export interface TestStack {
  config: Config;
  stack: LocalStack;
  /** Environment that points our processes (worker, intake, CLI) at this stack. */
  env: NodeJS.ProcessEnv;
  /** Stops the stack and removes its state directory. */
  stop(): Promise<void>;
  /** Stops and starts the servers again on the same ports and state. */
  restart(): Promise<void>;
}

/** Options for {@link startTestStack}. */
export interface TestStackOptions {
  worker?: boolean;
  intake?: boolean;
  overrides?: Partial<Record<keyof Config, unknown>>;
}

/**
 * Starts Temporal and NATS (and optionally our worker and intake) on free
 * loopback ports in a fresh temporary directory.
 */
export async function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'runbook-test-'));
  const [temporalPort, natsPort, natsMonitorPort, intakePort, workerMetricsPort, apiPort, temporalUiPort] = await freePorts(7);
  const bundle = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  const config = loadConfig(
    {
      stateDir,
      temporalPort,
      natsPort,
      natsMonitorPort,
      intakePort,
      workerMetricsPort,
      apiPort,
      temporalUiPort,
      ...(bundle ? { mode: 'production', workflowBundle: bundle } : {}),
      ...opts.overrides,
    },
    {},
  );
  const start = (): Promise<LocalStack> =>
    startLocalStack(config, { worker: opts.worker ?? false, intake: opts.intake ?? false, headless: true });
  let stack = await start();
  const handle: TestStack = {
    config,
    get stack() {
      return stack;
    },
    env: componentEnv(config),
    async stop() {
      await stack.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
    async restart() {
      await stack.stop();
      stack = await start();
    },
  };
  return handle;
}
