import type { WorkerOptions } from '@temporalio/worker';

/** Workflow code for in-process test workers: the run's pre-built bundle when there is one. */
export function workerOptionsForTests(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  return bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: require.resolve('../../workflows') };
}
