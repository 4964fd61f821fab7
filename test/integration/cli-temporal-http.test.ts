import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENV } from '../../config/config';
import { freePort } from '../../stack/ports';
import { waitFor } from '../../stack/wait-for';
import { runCli, type CliRun } from '../helpers/cli';
import { prepareCliStack, type CliStack } from '../helpers/cli-stack';

/*
 * `runbook incidents` and `runbook status` answer the same over Temporal's
 * HTTP API (what they use when the stack recorded its address), and `runbook
 * show` and `runbook audit` the same over the lean gRPC reader, as over the
 * SDK's gRPC client (RUNBOOK_TEMPORAL_HTTP=false), on a real stack with a
 * running and a completed incident, filters and a limit.
 */

let runbooks: string;
let stack: CliStack;
let held = '';
let settled = '';

const HOLD = ['name: hold', 'version: 1', 'match:', '  kinds: [disk_full]', '  services: ["*"]', 'steps:', '  - id: hold', '    action:', '      kind: wait', '      duration: 1h', ''];
const SETTLE = ['name: settle', 'version: 1', 'match:', '  kinds: [node_down]', '  services: [app]', 'steps:', '  - id: settle', '    action:', '      kind: wait', '      duration: 1s', ''];

const overGrpc = (): NodeJS.ProcessEnv => ({ ...stack.env, [ENV.temporalHttp]: 'false' });

async function fault(service: string, target: string, kind: string): Promise<string> {
  const run = await runCli(['fault', '--service', service, '--target', target, '--kind', kind, '--json'], stack.env);
  assert.equal(run.code, 0, run.stderr);
  return (JSON.parse(run.stdout) as { incidentId: string }).incidentId;
}

function json<T>(run: CliRun): T {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as T;
}

before(async () => {
  runbooks = mkdtempSync(join(tmpdir(), 'runbook-test-http-runbooks-'));
  writeFileSync(join(runbooks, 'hold.yaml'), HOLD.join('\n'));
  writeFileSync(join(runbooks, 'settle.yaml'), SETTLE.join('\n'));
  stack = await prepareCliStack({ [ENV.runbooksDir]: runbooks });
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  held = await fault('checkout', 'gpu-1', 'disk_full');
  settled = await fault('app', 'node-1', 'node_down');
  await waitFor('the held incident to wait in its hold step', 60_000, async () => {
    const shown = await runCli(['show', held, '--json'], stack.env);
    return shown.code === 0 && (JSON.parse(shown.stdout) as { currentStep?: string }).currentStep === 'hold';
  });
  await waitFor('the settled incident to complete', 120_000, async () => {
    const listed = await runCli(['incidents', '--json'], overGrpc());
    return listed.code === 0 && (JSON.parse(listed.stdout) as { incidentId: string; workflowStatus: string }[]).some((i) => i.incidentId === settled && i.workflowStatus === 'COMPLETED');
  });
});

after(async () => {
  await stack?.cleanup();
  rmSync(runbooks, { recursive: true, force: true });
});

test('the stack records the HTTP API of its Temporal dev server', () => {
  const info = stack.info();
  assert.match(info.temporalHttpAddress ?? '', /^127\.0\.0\.1:\d+$/);
  assert.equal(info.ports.temporalHttp, Number(info.temporalHttpAddress?.split(':')[1]));
});

test('incidents and status answer the same over HTTP as over gRPC', async () => {
  const filters = [['--json'], ['--service', 'app', '--json'], ['--status', 'resolved', '--json'], ['--open', '--limit', '1'], ['--since', '1h'], []];
  for (const args of [...filters.map((f) => ['incidents', ...f]), ['status', '--json'], ['status']]) {
    const grpc = await runCli(args, overGrpc());
    const http = await runCli(args, stack.env);
    assert.equal(grpc.code, 0, `${args.join(' ')} over gRPC: ${grpc.stderr}`);
    assert.deepEqual(http, grpc, args.join(' '));
  }
  const listed = json<{ incidentId: string; workflowStatus: string; closeTime?: string }[]>(await runCli(['incidents', '--json'], stack.env));
  assert.deepEqual(listed.map((i) => [i.incidentId, i.workflowStatus]).sort(), [[held, 'RUNNING'], [settled, 'COMPLETED']].sort());
  assert.ok(listed.find((i) => i.incidentId === settled)?.closeTime);
});

test('show and audit answer the same over the lean gRPC reader as over the SDK client, for a running, a completed and a missing incident', async () => {
  for (const id of [held, settled, 'incident/app/never-seen']) {
    for (const args of [['show', id], ['show', id, '--json'], ['audit', id], ['audit', id, '--json']]) {
      const sdk = await runCli(args, overGrpc());
      const lean = await runCli(args, stack.env);
      assert.equal(sdk.code, id === 'incident/app/never-seen' ? 1 : 0, `${args.join(' ')} over the SDK: ${sdk.stderr}`);
      assert.deepEqual(lean, sdk, args.join(' '));
    }
  }
  const shown = json<{ incidentId: string; closedAt?: string }>(await runCli(['show', settled, '--json'], stack.env));
  assert.equal(shown.incidentId, settled);
  assert.ok(shown.closedAt, 'the completed incident is read from its result');
});

test('show reads over gRPC without the HTTP API: with its address pointing nowhere it still answers, and an unreachable frontend is named', async () => {
  const nowhere = `127.0.0.1:${await freePort()}`;
  assert.equal((await runCli(['show', held], { ...stack.env, [ENV.temporalHttpAddress]: nowhere })).code, 0);
  const unreachable = await runCli(['show', held], { ...stack.env, [ENV.temporalAddress]: nowhere });
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, new RegExp(`cannot reach Temporal at ${nowhere.replace(/\./g, '\\.')}`));
});

test('the list goes over HTTP: with its address pointing nowhere it fails naming it, while gRPC still answers', async () => {
  const nowhere = `127.0.0.1:${await freePort()}`;
  const env = { ...stack.env, [ENV.temporalHttpAddress]: nowhere };
  const listed = await runCli(['incidents'], env);
  assert.equal(listed.code, 2);
  assert.match(listed.stderr, new RegExp(`cannot reach Temporal at ${nowhere.replace(/\./g, '\\.')}`));
  assert.equal((await runCli(['incidents'], { ...env, [ENV.temporalHttp]: 'false' })).code, 0);
});

test('status over HTTP reports Temporal down when its HTTP API does not answer', async () => {
  const nowhere = `127.0.0.1:${await freePort()}`;
  const info = stack.info();
  const file = join(stack.stateDir, 'stack.json');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, JSON.stringify({ ...info, temporalHttpAddress: nowhere }));
  try {
    const run = await runCli(['status', '--json'], stack.env);
    assert.equal(run.code, 1);
    const temporal = (JSON.parse(run.stdout) as { components: { name: string; healthy: boolean }[] }).components.find((c) => c.name === 'temporal');
    assert.equal(temporal?.healthy, false);
  } finally {
    writeFileSync(file, original);
  }
});
