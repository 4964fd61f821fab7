import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { waitFor } from '../../stack/wait-for';
import { CHROMIUM, launchBrowser } from '../helpers/browser';

/*
 * The browser helper's close must return even when something Chromium
 * forked still holds its stdout and stderr, as its crash handlers can: a
 * close that waited for those pipes held a whole test file until the
 * runner's limit. A wrapper starts a sleeper with the browser's pipes, in
 * the browser's process group or in a session of its own, then runs
 * Debian's Chromium.
 */

const dir = mkdtempSync(join(tmpdir(), 'browser-close-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Running, as /proc tells it: a killed process nobody has reaped yet (state Z) is gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

/** A Chromium that first leaves a sleeper holding its stdout and stderr; `ownSession` puts the sleeper out of the browser's process group. */
function chromiumWithSleeper(name: string, ownSession: boolean): { wrapper: string; sleeper: () => number } {
  const pidFile = join(dir, `${name}.pid`);
  const wrapper = join(dir, name);
  // The subshell is no group leader, so setsid starts the new session itself and $! stays the sleeper's pid.
  const start = ownSession ? '(exec setsid sleep 600) &' : 'sleep 600 &';
  writeFileSync(wrapper, `#!/bin/sh\n${start}\necho $! > ${JSON.stringify(pidFile)}\nexec ${JSON.stringify(CHROMIUM)} "$@"\n`);
  chmodSync(wrapper, 0o755);
  return { wrapper, sleeper: () => Number(readFileSync(pidFile, 'utf8').trim()) };
}

async function openPage(b: Awaited<ReturnType<typeof launchBrowser>>): Promise<void> {
  const page = await b.browser.newPage();
  await page.setContent('<title>x</title><p>ready</p>');
  assert.equal(await page.locator('p').textContent(), 'ready');
}

test('close returns and ends the process group when a forked process still holds the browser pipes', { timeout: 120_000 }, async () => {
  const { wrapper, sleeper } = chromiumWithSleeper('in-group', false);
  const b = await launchBrowser(wrapper);
  await openPage(b);
  const pid = sleeper();
  assert.ok(alive(pid), 'the sleeper runs beside the browser');
  await b.close();
  await waitFor('the sleeper gone with the group', 10_000, async () => !alive(pid));
});

test('close returns when a process outside the browser group holds its pipes (the server close alone waits for them forever)', { timeout: 120_000 }, async () => {
  const { wrapper, sleeper } = chromiumWithSleeper('own-session', true);
  const b = await launchBrowser(wrapper);
  await openPage(b);
  const pid = sleeper();
  try {
    assert.ok(alive(pid), 'the sleeper runs in its own session');
    await b.close();
    assert.ok(alive(pid), 'outside the group, the sleeper is not the helper\'s to kill');
  } finally {
    // This test started it, so it ends it.
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});
