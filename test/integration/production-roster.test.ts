import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ENV } from '../../config/config';
import { nodeEntryArgv } from '../../stack/local-stack';
import { PROJECT_ROOT } from '../../stack/toolchain';

/*
 * In production the worker and the approval API refuse to start without a
 * usable roster: without one any token holder could approve or decide
 * escalations. They stop before connecting to anything, so no servers are
 * needed; the addresses point at a closed port to prove it.
 */

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'production-roster-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(entry: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const [cmd, ...args] = nodeEntryArgv(entry);
  return new Promise((done, fail) => {
    const child = spawn(cmd ?? process.execPath, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${entry} did not exit; stderr: ${stderr}`));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

function productionEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.values(ENV)) delete env[name];
  return { ...env, [ENV.mode]: 'production', [ENV.stateDir]: dir, [ENV.temporalAddress]: '127.0.0.1:1', [ENV.natsUrl]: 'nats://127.0.0.1:1', ...extra };
}

for (const [name, entry] of [['worker', 'workers/worker.ts'], ['approval API', 'workers/api.ts']] as const) {
  test(`the ${name} in production without RUNBOOK_ROSTER_FILE exits with an error naming the variable`, async () => {
    const { code, stderr } = await run(entry, productionEnv());
    assert.equal(code, 1);
    assert.match(stderr, /RUNBOOK_ROSTER_FILE is required when RUNBOOK_MODE=production/);
  });

  test(`the ${name} in production with an unreadable or invalid roster exits naming the variable and the problem`, async () => {
    const missing = await run(entry, productionEnv({ [ENV.rosterFile]: join(dir, 'absent.yaml') }));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /RUNBOOK_ROSTER_FILE \(RUNBOOK_MODE=production\) is not a usable roster/);
    assert.match(missing.stderr, /absent\.yaml: cannot read roster/);
    const invalid = join(dir, `invalid-${entry.replace(/\W/g, '-')}.yaml`);
    writeFileSync(invalid, 'groups:\n  oncall: { members: [] }\n');
    const bad = await run(entry, productionEnv({ [ENV.rosterFile]: invalid }));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a usable roster:\n.*invalid-.*\.yaml:2: .*a group needs at least one member/);
  });
}

test('with a valid roster the worker gets past the roster check (and then fails only for want of the servers here)', async () => {
  const roster = join(dir, 'roster.yaml');
  writeFileSync(roster, 'groups:\n  oncall: { members: [alice] }\n');
  const { stderr } = await run('workers/worker.ts', productionEnv({ [ENV.rosterFile]: roster, [ENV.workflowBundle]: join(dir, 'no-bundle.js') }));
  assert.doesNotMatch(stderr, /RUNBOOK_ROSTER_FILE/);
});
