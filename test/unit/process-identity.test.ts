import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { isSameProcess, processStartTime } from '../../stack/process-identity';

test('a live process is recognised by its pid and start time', () => {
  const started = processStartTime(process.pid);
  assert.ok(started);
  assert.equal(isSameProcess(process.pid, started), true);
});

test('a pid with another start time, or without a recorded one, is not taken for ours', () => {
  assert.equal(isSameProcess(process.pid, `${processStartTime(process.pid)}0`), false);
  assert.equal(isSameProcess(process.pid, undefined), false);
});

test('a process that has exited has no start time', async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid ?? -1;
  await once(child, 'exit');
  assert.equal(processStartTime(pid), undefined);
});
