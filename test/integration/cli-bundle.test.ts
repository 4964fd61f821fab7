import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENV } from '../../config/config';
import { bundleCli, STAMP_PREFIX, type BundleStamp } from '../../scripts/bundle-cli';
import { PROJECT_ROOT } from '../../stack/toolchain';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { prepareCliStack, type CliStack } from '../helpers/cli-stack';

let dir: string;
let bundle: string;
let stamp: BundleStamp;
let stack: CliStack;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runbook-test-cli-bundle-'));
  bundle = join(dir, 'runbook.js');
  stamp = await bundleCli(bundle);
  stack = await prepareCliStack({ [ENV.runbooksDir]: join(PROJECT_ROOT, 'test/fixtures/runbooks-hold') });
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
});

after(async () => {
  await stack?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const fromBundle = (file: string): NodeJS.ProcessEnv => ({ ...stack.env, RUNBOOK_CLI_BUNDLE: file, RUNBOOK_CLI_FROM_SOURCE: '' });
const fromSource = (): NodeJS.ProcessEnv => ({ ...stack.env, RUNBOOK_CLI_FROM_SOURCE: '1' });

/** A bundle at `file` with `stamp` on its first line whose main only prints `marker`. */
function plantBundle(file: string, planted: BundleStamp, marker: string): void {
  const code = `exports.main = async () => { process.stdout.write(${JSON.stringify(marker)}); return 0; };\n`;
  writeFileSync(file, `${STAMP_PREFIX}${JSON.stringify(planted)}\n${code}`);
}

test('the bundled CLI prints the same help and reads the same stack as the CLI run from source', async () => {
  const fault = await runCli(['fault', '--service', 'checkout', '--target', 'gpu-1', '--kind', 'node_down', '--json'], fromBundle(bundle));
  assert.equal(fault.code, 0, fault.stderr);
  const { incidentId } = JSON.parse(fault.stdout) as { incidentId: string };
  await waitFor('the incident to wait in its hold step', 60_000, async () => {
    const shown = await runCli(['show', incidentId, '--json'], fromSource());
    return shown.code === 0 && (JSON.parse(shown.stdout) as { currentStep?: string }).currentStep === 'hold';
  });
  for (const args of [['--help'], ['status', '--help'], ['status'], ['incidents', '--json'], ['show', incidentId, '--json'], ['audit', incidentId, '--json']]) {
    const source = await runCli(args, fromSource());
    const bundled = await runCli(args, fromBundle(bundle));
    assert.equal(source.code, 0, `${args.join(' ')} from source: ${source.stderr}`);
    assert.deepEqual(bundled, source, args.join(' '));
  }
  // The bundle ran (and left its V8 code cache), not a silent fallback to source.
  assert.ok(existsSync(join(dir, `runbook.${stamp.id}.status.cache`)), readdirSync(dir).join(', '));
});

test('a bundle whose stamp matches its sources is what runbook runs', async () => {
  const planted = join(dir, 'planted-fresh.js');
  plantBundle(planted, stamp, 'planted bundle ran');
  const run = await runCli(['--help'], fromBundle(planted));
  assert.equal(run.stdout, 'planted bundle ran');
});

test('a bundle older than a file it was built from is rebuilt before it runs, never run as it is', async () => {
  const [first, ...rest] = stamp.inputs;
  assert.ok(first);
  const planted = join(dir, 'planted-stale.js');
  // As if cli/main.ts (or any input) had been edited since the build.
  plantBundle(planted, { ...stamp, inputs: [[first[0], first[1] - 1_000, first[2]], ...rest] }, 'stale bundle ran');
  const source = await runCli(['--help'], fromSource());
  const run = await runCli(['--help'], fromBundle(planted));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, source.stdout);
  assert.equal(run.stderr, '');
  const rebuilt = readFileSync(planted, 'utf8');
  assert.ok(rebuilt.startsWith(STAMP_PREFIX));
  assert.doesNotMatch(rebuilt, /stale bundle ran/);
});
