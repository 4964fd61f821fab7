import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RegisteredService } from '../../config/services';
import { action, harness, rejectsWith, request, testDeps } from '../fixtures/activities/harness';
import type { Harness } from '../fixtures/activities/harness';
import { freePort } from '../../stack/ports';
import { alive, writePidServer } from '../helpers/processes';

describe('service actions through the supervisor registry with a real node http server', () => {
  let dir: string;
  let port: number;
  let service: RegisteredService;
  let h: Harness;
  const started: number[] = [];
  const svc = (kind: 'start_service' | 'stop_service' | 'restart_service') => action({ kind, supervisor: { service: 'web' } });
  const health = () => action({ kind: 'verify', target: { http: { url: `http://127.0.0.1:${port}/health`, body_match: 'healthy' } }, timeout: '1s' });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-supervisor-'));
    port = await freePort();
    const script = await writePidServer(dir);
    service = {
      name: 'web',
      argv: [process.execPath, script, String(port)],
      cwd: dir,
      pidFile: path.join(dir, 'run', 'web.pid'),
      logFile: path.join(dir, 'log', 'web.log'),
      health: { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutMs: 500 },
      startTimeoutMs: 10_000,
      stopGraceMs: 3_000,
    };
    h = harness(testDeps({ services: { web: service } }));
  });
  after(async () => {
    const pid = Number(await readFile(service.pidFile, 'utf8').catch(() => ''));
    for (const p of [...started, pid]) {
      if (Number.isInteger(p) && p > 1 && alive(p)) process.kill(p, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('starting the service runs it, waits until healthy and reports its pid', async () => {
    const result = await h.runAction(request(svc('start_service')));
    const pid = result.output.pid as number;
    started.push(pid);
    assert.deepEqual(result.output, { service: 'web', pid, running: true, healthy: true, changed: true });
    assert.ok(alive(pid));
    assert.equal((await readFile(service.pidFile, 'utf8')).trim(), String(pid));
    const verified = await h.runAction(request(health()));
    assert.equal(verified.output.ok, true);
    assert.equal(verified.output.status, 200);
  });

  test('starting it again leaves the running process alone', async () => {
    const result = await h.runAction(request(svc('start_service')));
    assert.equal(result.output.changed, false);
    assert.equal(result.output.pid, started[0]);
  });

  test('restarting it replaces the process with a new healthy one', async () => {
    const result = await h.runAction(request(svc('restart_service')));
    const pid = result.output.pid as number;
    started.push(pid);
    assert.equal(result.output.previous_pid, started[0]);
    assert.notEqual(pid, started[0]);
    assert.equal(alive(started[0] as number), false);
    assert.equal(result.output.healthy, true);
  });

  test('stopping it ends the process, and verify then fails retryably', async () => {
    const result = await h.runAction(request(svc('stop_service')));
    assert.deepEqual(result.output, { service: 'web', pid: started[1], running: false, healthy: false, changed: true });
    assert.equal(alive(started[1] as number), false);
    await rejectsWith(h.runAction(request(health())), 'ProbeUnhealthy', false);
  });

  test('stopping a stopped service changes nothing', async () => {
    const result = await h.runAction(request(svc('stop_service')));
    assert.equal(result.output.changed, false);
    assert.equal(result.output.running, false);
  });

  test('a service that never becomes healthy fails retryably with ServiceStartFailed and is not left running', async () => {
    const broken: RegisteredService = {
      ...service,
      name: 'broken',
      argv: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      pidFile: path.join(dir, 'run', 'broken.pid'),
      startTimeoutMs: 600,
    };
    const hb = harness(testDeps({ services: { broken } }));
    await rejectsWith(hb.runAction(request(action({ kind: 'start_service', supervisor: { service: 'broken' } }))), 'ServiceStartFailed', false);
    assert.equal(await readFile(broken.pidFile, 'utf8').catch(() => 'gone'), 'gone');
    assert.ok(hb.heartbeats.length > 0, 'heartbeats while starting');
  });
});
