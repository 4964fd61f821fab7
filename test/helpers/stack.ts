import type { Config } from '../../config/config';
import { startIsolatedStack, type IsolatedStack } from '../../stack/isolated-stack';

/** A private stack for one test file: its own servers, ports and state directory. */
export type TestStack = IsolatedStack;

/** Options for {@link startTestStack}. */
export interface TestStackOptions {
  worker?: boolean;
  intake?: boolean;
  overrides?: Partial<Record<keyof Config, unknown>>;
}

/**
 * Starts Temporal and NATS (and optionally our worker and intake) on free
 * loopback ports in a fresh temporary directory, using the test run's
 * pre-built workflow bundle when there is one.
 */
export function startTestStack(opts: TestStackOptions = {}): Promise<TestStack> {
  const bundle = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  return startIsolatedStack({ ...opts, dirPrefix: 'runbook-test-', ...(bundle ? { workflowBundle: bundle } : {}) });
}
