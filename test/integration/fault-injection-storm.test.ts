import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FAULTS_STREAM } from '../../intake/streams';
import { startIsolatedStack, type IsolatedStack } from '../../stack/isolated-stack';
import { stormWorkflowBundle, writeStormFiles, type StormFiles } from '../helpers/storm-runbook';
import { runStorm, STORM_NAK, STORM_RESTART_POLICY, type StormFault } from '../helpers/storm-scenario';
import { assertStormHeld } from '../helpers/storm-tally';

/*
 * The storm on the embedded stack: one nats-server, the Temporal dev server,
 * one worker and one intake, each SIGKILLed in turn and restarted by the
 * stack's supervisor. The same scenario runs on the cluster stack in
 * cluster-fault-storm.test.ts; docs/reliability.md sets the two side by side.
 */

const FAULTS: StormFault[] = [
  {
    label: 'nats-server',
    component: () => Promise.resolve('nats'),
    recovered: async ({ jsm }) => (await jsm.streams.info(FAULTS_STREAM)).state.messages >= 0,
  },
  { label: 'worker', component: () => Promise.resolve('worker') },
  { label: 'intake', component: () => Promise.resolve('intake') },
  { label: 'temporal-dev-server', component: () => Promise.resolve('temporal') },
];

let dir = '';
let files: StormFiles;
let stack: IsolatedStack | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'storm-'));
  files = writeStormFiles(dir, '30s');
  stack = await startIsolatedStack({
    dirPrefix: 'runbook-test-',
    worker: true,
    intake: true,
    workflowBundle: await stormWorkflowBundle(dir),
    restart: STORM_RESTART_POLICY,
    overrides: { runbooksDir: files.runbooksDir, ...STORM_NAK },
  });
});

after(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('embedded stack: 5,000 faults over 200 targets while NATS, the worker, the intake and Temporal are killed: none lost, no overlap, no effect twice, none stuck', { timeout: 300_000 }, async (t) => {
  const s = stack;
  if (!s) throw new Error('no stack');
  const { count, summary } = await runStorm(
    { label: 'embedded', config: s.config, info: s.stack.info, intakePorts: [s.config.intakePort] },
    { targets: 200, events: 5_000, durationMs: 90_000, lanes: 4, faults: FAULTS, closeBoundMs: 150_000, recoverBoundMs: 60_000 },
    files,
    (line) => t.diagnostic(line),
  );
  console.log(`storm-summary ${JSON.stringify(summary)}`);
  assertStormHeld(count, summary);
});
