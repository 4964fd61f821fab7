import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/cli';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * `runbook demo drill` as a user runs it, on a stack of its own: the demo
 * runbook's flap guard counts incidents of the demo primary, so drills in
 * another file on the same stack would stop this one for a human.
 */

let stack: TestStack;

before(async () => {
  const rosterFile = join(mkdtempSync(join(tmpdir(), 'drill-cli-roster-')), 'roster.yaml');
  writeFileSync(rosterFile, 'groups:\n  drills:\n    members: [carol]\n  oncall:\n    members: [alice, demo]\n  sre-leads:\n    members: [alice]\n');
  stack = await startTestStack({ intake: true, overrides: { rosterFile } });
});

after(async () => {
  await stack?.stop();
});

test('runbook demo drill --auto-approve rehearses the failover and prints the graded report', { timeout: 8 * 60_000 }, async () => {
  const run = await runCli(['demo', 'drill', '--auto-approve', '--state-dir', stack.config.stateDir], stack.env);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /passed/i);
  assert.match(run.stdout, /\brto\b/i);
  assert.match(run.stdout, /\brpo\b/i);
  assert.match(run.stdout, /runbook audit incident\/demo\/primary/);
});
