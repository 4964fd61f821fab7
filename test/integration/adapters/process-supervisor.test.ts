import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ServiceStartFailedError } from '../../../activities/adapters/errors';
import {
  restartService,
  serviceStatus,
  startService,
  stopService,
} from '../../../activities/adapters/process-supervisor';
import type { ServiceSpec } from '../../../schemas/service-spec';
import { waitFor } from '../../fixtures/activities/harness';
import { freePort } from '../../../stack/ports';
import { httpGet, writePidServer } from '../../helpers/processes';

/** Live (non-zombie) processes whose command line mentions `marker`. */
async function processesMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      const statText = await readFile(`/proc/${entry}/stat`, 'utf8');
      const state = statText.slice(statText.lastIndexOf(')') + 2, statText.lastIndexOf(')') + 3);
      if (cmdline.includes(marker) && state !== 'Z') pids.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('process supervisor with a real node http server', () => {
  let dir: string;
  let script: string;
  let service: ServiceSpec;
  let port: number;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'supervisor-'));
    script = await writePidServer(dir);
    port = await freePort();
    service = {
      name: 'demo-app',
      argv: [process.execPath, script, String(port)],
      pidFile: path.join(dir, 'run', 'demo-app.pid'),
      logFile: path.join(dir, 'log', 'demo-app.log'),
      health: { kind: 'http', url: `http://127.0.0.1:${port}/`, timeoutMs: 500 },
    };
  });

  after(async () => {
    for (const pid of await processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry-run start spawns nothing and says what it would run', async () => {
    const plan = await startService(service, { dryRun: true });
    assert.equal(plan.dryRun, true);
    assert.match(plan.dryRun ? plan.plan : '', /would start demo-app/);
    assert.deepEqual(await processesMentioning(script), []);
    assert.equal(await exists(service.pidFile), false);
  });

  test('starts the server from nothing, writes the pidfile and waits until it answers', async () => {
    const started = await startService(service, { dryRun: false, startTimeoutMs: 10_000 });
    assert.equal(started.dryRun, false);
    assert.equal(started.dryRun === false && started.changed, true);
    const pid = started.dryRun ? 0 : started.pid;
    assert.equal((await readFile(service.pidFile, 'utf8')).trim(), String(pid));
    assert.equal(await httpGet(port), `pid ${pid}`);
    const status = await serviceStatus(service);
    assert.equal(status.running, true);
    assert.equal(status.healthy, true);
    assert.equal(status.pid, pid);
  });

  test('starting again while it runs leaves exactly one process', async () => {
    const again = await startService(service, { dryRun: false });
    assert.equal(again.dryRun === false && again.changed, false);
    assert.deepEqual(await processesMentioning(script), [again.dryRun ? 0 : again.pid]);
  });

  test('restart replaces the process with a new pid', async () => {
    const before = await serviceStatus(service);
    const restarted = await restartService(service, { dryRun: false, graceMs: 5000, startTimeoutMs: 10_000 });
    assert.equal(restarted.dryRun, false);
    if (restarted.dryRun) return;
    assert.equal(restarted.previousPid, before.pid);
    assert.notEqual(restarted.pid, before.pid);
    assert.equal(await httpGet(port), `pid ${restarted.pid}`);
    assert.deepEqual(await processesMentioning(script), [restarted.pid]);
  });

  test('a SIGSTOPped server is alive but reported unhealthy, and stop still ends it', async () => {
    const { pid } = await serviceStatus(service);
    assert.ok(pid !== null);
    process.kill(pid, 'SIGSTOP');
    const status = await waitFor(() => serviceStatus(service), (s) => s.processState === 'T', 5000);
    assert.equal(status.running, true);
    assert.equal(status.healthy, false);
    assert.match(status.probe?.detail ?? '', /no answer within 500 ms/);

    const stopped = await stopService(service, { dryRun: false, graceMs: 5000 });
    assert.deepEqual(stopped, { dryRun: false, changed: true, pid });
    assert.deepEqual(await processesMentioning(script), []);
    assert.equal(await exists(service.pidFile), false);
  });

  test('stopping a stopped service is a no-op, and a stale pidfile counts as not running', async () => {
    assert.deepEqual(await stopService(service, { dryRun: false }), { dryRun: false, changed: false, pid: null });
    // A pid that certainly has no process: above the kernel's pid_max.
    await writeFile(service.pidFile, '4194305\n');
    const status = await serviceStatus(service);
    assert.equal(status.running, false);
    assert.equal(status.healthy, false);
    const started = await startService(service, { dryRun: false, startTimeoutMs: 10_000 });
    assert.equal(started.dryRun === false && started.changed, true);
    await stopService(service, { dryRun: false });
    assert.deepEqual(await processesMentioning(script), []);
  });

  test('a pidfile written before its process started names a recycled pid, not the service', async () => {
    const recycled: ServiceSpec = { ...service, name: 'recycled', pidFile: path.join(dir, 'run', 'recycled.pid') };
    await writeFile(recycled.pidFile, `${process.pid}\n`);
    assert.equal((await serviceStatus(recycled)).running, true);
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(recycled.pidFile, longAgo, longAgo);
    assert.equal((await serviceStatus(recycled)).running, false);
  });

  test('a service that exits at once fails to start and leaves no pidfile', async () => {
    const broken: ServiceSpec = {
      ...service,
      name: 'broken-app',
      argv: [process.execPath, '-e', 'console.error("boom: missing config"); process.exit(3)'],
      pidFile: path.join(dir, 'run', 'broken.pid'),
    };
    await assert.rejects(startService(broken, { dryRun: false, startTimeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof ServiceStartFailedError);
      assert.match(err.message, /boom: missing config/);
      return true;
    });
    assert.equal(await exists(broken.pidFile), false);
  });
});
