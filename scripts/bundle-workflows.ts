import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const ROOT = resolve(__dirname, '..');

/**
 * Modules the workflow code imports that hold no state of their own: pure
 * functions and constants from engine/ and schemas/. The worker's reusable V8
 * context evaluates every other module once per cached workflow; these are
 * evaluated once per worker and shared (frozen), which saves their copies in
 * every waiting incident. Nothing that imports `@temporalio/workflow` or keeps
 * module state belongs here. test/unit/workflow-bundle-sharing.test.ts checks the
 * list against the modules the bundle holds.
 */
export const SHARED_WORKFLOW_MODULES: readonly string[] = [
  'engine/approval-rules.ts',
  'engine/conditions.ts',
  'engine/drill-grading.ts',
  'engine/duration.ts',
  'engine/effects.ts',
  'engine/fencing.ts',
  'engine/outages.ts',
  'engine/template.ts',
  'engine/truncate-output.ts',
  'schemas/drill-input.ts',
  'schemas/duration.ts',
  'schemas/incident-wire-names.ts',
  'schemas/scheduled-run.ts',
  'schemas/search-attributes.ts',
];

/** The workflow bundle's code, with the shared modules preloaded. */
export async function workflowBundleCode(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    preloadModules: SHARED_WORKFLOW_MODULES.map((m) => resolve(ROOT, m)),
  });
  return code;
}

/**
 * Pre-bundles the workflow code so production workers load one fixed file
 * instead of running webpack at start-up. Usage: bundle-workflows.ts [out]
 */
export async function bundleWorkflows(out: string): Promise<void> {
  const code = await workflowBundleCode();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
}

if (require.main === module) {
  const out = resolve(process.argv[2] ?? resolve(__dirname, '..', 'dist', 'workflow-bundle.js'));
  bundleWorkflows(out).then(
    () => console.log(`workflow bundle written to ${out}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
