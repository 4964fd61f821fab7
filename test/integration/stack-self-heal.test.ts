import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadRosterFile } from '../../config/roster';
import { localOperator } from '../../stack/local-roster';
import { isSameProcess } from '../../stack/process-identity';
import type { StackInfo } from '../../stack/stack-file';
import { waitFor } from '../../stack/wait-for';
import { liveRecordedPids, prepareCliStack, type CliStack } from '../helpers/cli-stack';

let stack: CliStack;
let firstUp = '';

before(async () => {
  stack = await prepareCliStack();
  const up = await stack.up();
  assert.equal(up.code, 0, up.stdout + up.stderr);
  firstUp = up.stdout;
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
  const status = await stack.status(true);
  assert.equal(status.code, 0, status.stdout);
  const report = JSON.parse(status.stdout) as StatusJson;
  assert.deepEqual(report.components.map((c) => [c.name, c.restarts]), COMPONENTS.map((n) => [n, 0]));

  const down = await stack.down();
  assert.equal(down.code, 0);
  assert.deepEqual(liveRecordedPids(stack.info()), [], 'down stopped the fresh stack');
});
