import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'demo-standby-flag-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('runbook demo refuses an unknown --standby mode, naming the flag and the modes', async () => {
  const run = await runCli(['demo', 'crash', '--auto-approve', '--standby', 'warm', '--state-dir', dir], { ...process.env });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--standby must be one of hot, cold, got "warm"/);
});

test('runbook demo --standby cold still needs a running stack', async () => {
  const run = await runCli(['demo', 'crash', '--auto-approve', '--standby', 'cold', '--state-dir', dir], { ...process.env });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /no running stack in/);
});
