import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENV } from '../../config/config';
import { loadRosterFile } from '../../config/roster';
import type { IncidentState } from '../../schemas/incident-state';
import { localOperator } from '../../stack/local-roster';
import { isSameProcess } from '../../stack/process-identity';
import { PROJECT_ROOT } from '../../stack/toolchain';
import type { StackInfo } from '../../stack/stack-file';
import { waitFor } from '../../stack/wait-for';
import { runCli } from '../helpers/cli';
import { liveRecordedPids, prepareCliStack, type CliStack } from '../helpers/cli-stack';

let stack: CliStack;
let firstUp = '';
let operatorToken = '';

before(async () => {
  // One approval-gated step that touches nothing, so a plain `runbook approve` has something to decide.
  stack = await prepareCliStack({ [ENV.runbooksDir]: join(PROJECT_ROOT, 'test/fixtures/runbooks-gate') });
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  firstUp = up.stdout;
  operatorToken = readFileSync(join(stack.stateDir, 'operator.token'), 'utf8');
});

after(async () => {
  await stack?.cleanup();
});

const COMPONENTS = ['temporal', 'nats', 'worker', 'intake', 'api'];

function pids(info: StackInfo): Record<string, number> {
  return Object.fromEntries(Object.entries(info.components).map(([name, c]) => [name, c.pid]));
}

interface StatusJson {
  running: boolean;
  healthy: boolean;
  components: { name: string; healthy: boolean; state?: string; pid?: number; restarts?: number; lastExit?: { signal: string | null } }[];
  orphans: { name: string; pid: number }[];
}

async function killSupervisor(): Promise<StackInfo> {
  const info = stack.info();
  process.kill(info.supervisorPid, 'SIGKILL');
  await waitFor('the supervisor to be gone', 30_000, () => !isSameProcess(info.supervisorPid, info.supervisorStartTime));
  return info;
}

test('up writes a roster with the local operator in every group the runbooks ask, says so, and gives it to the worker and API', async () => {
  const info = stack.info();
  const file = join(info.stateDir, 'roster.yaml');
  assert.equal(info.rosterFile, file);
  assert.match(firstUp, new RegExp(`Roster +${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const roster = await loadRosterFile(file);
  const operator = localOperator();
  for (const group of ['oncall']) assert.deepEqual(roster.groups[group]?.members, [operator], `${operator} is in ${group}`);
  assert.match(readFileSync(join(info.stateDir, 'logs', 'up.log'), 'utf8'), new RegExp(`wrote roster .*roster\\.yaml: ${operator} may approve and decide escalations in .*oncall`));
  for (const name of ['worker', 'api']) {
    const pid = info.components[name]?.pid ?? 0;
    assert.match(readFileSync(`/proc/${pid}/environ`, 'utf8'), new RegExp(`(^|\\0)RUNBOOK_ROSTER_FILE=${file}(\\0|$)`), `${name} reads the roster`);
  }
  // An operator's edit: the next up (after the supervisor crash below) must keep it.
  appendFileSync(file, '# edited by the operator\n');
});

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function incidentState(id: string): Promise<IncidentState | undefined> {
  const run = await runCli(['show', id, '--json'], stack.env);
  return run.code === 0 ? (JSON.parse(run.stdout) as IncidentState) : undefined;
}

test('after up, a plain runbook approve with no token in the environment decides as the local operator via http', async () => {
  const info = stack.info();
  const tokenFile = join(info.stateDir, 'operator.token');
  const tokensFile = join(info.stateDir, 'tokens.json');
  assert.equal(info.operatorTokenFile, tokenFile);
  assert.match(firstUp, new RegExp(`Your token +${escape(tokenFile)}`));
  assert.match(readFileSync(join(info.stateDir, 'logs', 'up.log'), 'utf8'), new RegExp(`wrote the approval API token of ${escape(localOperator())} in ${escape(tokenFile)}`));
  for (const file of [tokenFile, tokensFile]) assert.equal(statSync(file).mode & 0o777, 0o600, `${file} is its owner's only`);
  const token = readFileSync(tokenFile, 'utf8').trim();
  assert.ok(!firstUp.includes(token) && !readFileSync(join(info.stateDir, 'logs', 'up.log'), 'utf8').includes(token), 'the token is never printed');
  const api = info.components.api?.pid ?? 0;
  assert.match(readFileSync(`/proc/${api}/environ`, 'utf8'), new RegExp(`(^|\\0)${ENV.tokensFile}=${escape(tokensFile)}(\\0|$)`), 'the API reads the state directory tokens');
  assert.equal(stack.env[ENV.apiToken], undefined);

  const fault = await runCli(['fault', '--service', 'app', '--target', 'gated', '--kind', 'node_down'], stack.env);
  assert.equal(fault.code, 0, fault.stdout + fault.stderr);
  await waitFor('the approval request', 60_000, async () => (await incidentState('app/gated'))?.requests.some((r) => r.type === 'approval' && r.outcome === undefined) ?? false, 500);

  const approve = await runCli(['approve', 'app/gated', '--reason', 'checked the plan'], stack.env);
  assert.equal(approve.code, 0, approve.stdout + approve.stderr);
  let state: IncidentState | undefined;
  await waitFor('the incident to resolve', 60_000, async () => (state = await incidentState('app/gated'))?.status === 'resolved', 500);
  const decisions = state?.requests.flatMap((r) => r.decisions.map((d) => [r.type, r.outcome, d.verdict, d.by, d.channel, d.accepted]));
  assert.deepEqual(decisions, [['approval', 'approve', 'approve', localOperator(), 'http', true]]);

  const audit = await runCli(['audit', 'app/gated'], stack.env);
  assert.equal(audit.code, 0, audit.stdout + audit.stderr);
  assert.match(audit.stdout, new RegExp(`ACCEPTED approve by ${escape(localOperator())} via http at .*: checked the plan`));
});

for (const name of ['worker', 'intake']) {
  test(`a SIGKILLed ${name} is restarted and healthy again while the others keep their pids`, async () => {
    const before = stack.info();
    const victim = before.components[name];
    assert.ok(victim, `stack.json names the ${name}`);
    process.kill(victim.pid, 'SIGKILL');

    await waitFor(`the ${name} to be restarted`, 90_000, () => {
      const c = stack.info().components[name];
      return c !== undefined && c.pid !== victim.pid && c.state === 'running';
    }, 200);
    const afterRestart = stack.info();
    assert.equal(afterRestart.components[name]?.restarts, victim.restarts + 1);
    assert.equal(afterRestart.components[name]?.lastExit?.signal, 'SIGKILL');
    const others = (info: StackInfo): Record<string, number> => Object.fromEntries(Object.entries(pids(info)).filter(([n]) => n !== name));
    assert.deepEqual(others(afterRestart), others(before), 'the other components kept their processes');

    const status = await stack.status(true);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    const report = JSON.parse(status.stdout) as StatusJson;
    assert.equal(report.healthy, true);
    const row = report.components.find((c) => c.name === name);
    assert.equal(row?.restarts, 1);
    assert.equal(row?.state, 'running');
    assert.equal(row?.healthy, true);

    const text = await stack.status();
    assert.match(text.stdout, new RegExp(`^ok\\s+${name}\\s+running .*\\(restarts 1, last exit signal SIGKILL`, 'm'));

    const log = readFileSync(join(stack.stateDir, 'logs', 'up.log'), 'utf8');
    const restartLine = log.split('\n').find((l) => l.includes(`"component":"${name}"`) && l.includes('restarting'));
    assert.ok(restartLine, `up.log records the ${name} restart`);
    assert.match(restartLine, /"signal":"SIGKILL"/);
  });
}

test('with the supervisor killed, status names the components still running and down stops every one', async () => {
  const info = await killSupervisor();
  const status = await stack.status();
  assert.equal(status.code, 1);
  assert.match(status.stdout, new RegExp(`^supervisor not running \\(pid ${info.supervisorPid}\\); 5 components still running: .*; run \`runbook down\` to stop them`, 'm'));
  for (const name of COMPONENTS) assert.match(status.stdout, new RegExp(`${name} \\(pid ${info.components[name]?.pid}\\)`));

  const down = await stack.down();
  assert.equal(down.code, 0, down.stdout + down.stderr);
  assert.match(down.stdout, /supervisor not running; stopping /);
  assert.deepEqual(liveRecordedPids(info), [], 'every recorded process is gone');
  assert.equal((await stack.status()).code, 1);

  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.equal((await stack.status()).code, 0);
});

test('up straight after a supervisor crash stops what was left behind and starts afresh', async () => {
  const info = await killSupervisor();
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, new RegExp(`found a stack left behind in .*: its supervisor \\(pid ${info.supervisorPid}\\) is gone, .*still running; stopping them and starting afresh`));
  assert.match(up.stdout, /stopped 5 leftover processes/);
  for (const name of COMPONENTS) assert.match(up.stdout, new RegExp(`${name} \\(pid ${info.components[name]?.pid}\\)`));
  assert.deepEqual(liveRecordedPids(info), [], 'every process of the crashed stack is gone');

  const fresh = stack.info();
  assert.notEqual(fresh.supervisorPid, info.supervisorPid);
  assert.match(readFileSync(join(fresh.stateDir, 'roster.yaml'), 'utf8'), /# edited by the operator/, 'the roster is written once and never overwritten');
  assert.equal(readFileSync(join(fresh.stateDir, 'operator.token'), 'utf8'), operatorToken, 'the operator token is generated once and reused');
  assert.match(readFileSync(join(fresh.stateDir, 'logs', 'up.log'), 'utf8'), /kept the approval API token of /);
  const status = await stack.status(true);
  assert.equal(status.code, 0, status.stdout);
  const report = JSON.parse(status.stdout) as StatusJson;
  assert.deepEqual(report.components.map((c) => [c.name, c.restarts]), COMPONENTS.map((n) => [n, 0]));

  const down = await stack.down();
  assert.equal(down.code, 0);
  assert.deepEqual(liveRecordedPids(stack.info()), [], 'down stopped the fresh stack');
});
