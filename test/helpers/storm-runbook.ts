import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

/** The service every storm event is for; incidents are `incident/storm/<target>`. */
export const STORM_SERVICE = 'storm';

/** Files the storm's runbook needs, made before the stack starts. */
export interface StormFiles {
  runbooksDir: string;
  effectLog: string;
}

/** Appends `<target> <idempotency key>` to the log given as its first argument. */
const APPEND = `
const fs = require('node:fs');
fs.appendFileSync(process.argv[2], process.argv[3] + ' ' + process.env.RUNBOOK_IDEMPOTENCY_KEY + '\\n');
`;

/**
 * Writes the storm's runbook: a non-idempotent command appends one line,
 * then the incident waits `settle` (absorbing repeats) and resolves. A kill
 * between the command's start and its reported end leaves its outcome unknown;
 * `on_ambiguous: skip` settles that without a human (the command is never run
 * blind a second time) so every incident can close within the bound.
 */
export function writeStormFiles(dir: string, settle: string): StormFiles {
  const script = join(dir, 'append.js');
  const effectLog = join(dir, 'effects.log');
  writeFileSync(script, APPEND);
  const runbooksDir = join(dir, 'runbooks');
  mkdirSync(runbooksDir, { recursive: true });
  const node = JSON.stringify(process.execPath);
  writeFileSync(
    join(runbooksDir, 'storm.yaml'),
    `name: storm
version: 1
match: { kinds: [storm_fault], services: [${STORM_SERVICE}] }
settings: { allowed_executables: [${node}] }
steps:
  - id: append
    action: { kind: command, argv: [${node}, ${JSON.stringify(script)}, ${JSON.stringify(effectLog)}, "{{ fault.target }}"] }
    timeout: 5s
    retry: { max_attempts: 8, initial_interval: 200ms, max_interval: 2s }
    on_ambiguous: skip
  - id: settle
    action: { kind: wait, duration: ${settle} }
`,
  );
  return { runbooksDir, effectLog };
}

const quiet = (): void => undefined;
const quietLogger = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet, log: quiet };

/** The test run's pre-built workflow bundle, or one built into `dir`, so each restarted worker starts without webpack. */
export async function stormWorkflowBundle(dir: string): Promise<string> {
  const given = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  if (given) return given;
  const out = join(dir, 'workflow-bundle.js');
  writeFileSync(out, (await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger })).code);
  return out;
}
