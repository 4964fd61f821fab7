import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { listServers } from '../../activities/adapters/haproxy';
import type { AdminState } from '../../activities/adapters/haproxy';
import { action, harness, rejectsWith, request, waitFor } from '../fixtures/activities/harness';
import { startHaproxyFixture } from '../helpers/haproxy-fixture';
import type { HaproxyFixture } from '../helpers/haproxy-fixture';
import { httpGet } from '../helpers/processes';

describe('isolate and restore through a real HAProxy', () => {
  let fx: HaproxyFixture;
  const h = harness();
  const admin = async (server: string): Promise<AdminState | undefined> =>
    (await listServers({ socket: fx.socketPath, backend: fx.backend })).find((s) => s.server === server)?.admin;
  const isolate = (server: string, extra: Record<string, unknown> = {}) =>
    action({ kind: 'isolate', haproxy: { socket: fx.socketPath, backend: fx.backend, server, ...extra } });
  const restore = (server: string) => action({ kind: 'restore', haproxy: { socket: fx.socketPath, backend: fx.backend, server } });

  before(async () => {
    fx = await startHaproxyFixture();
  });
  after(async () => {
    await fx.stop();
  });

  test('isolating a server puts it in maint, verified, and traffic goes to the other server only', async () => {
    const result = await h.runAction(request(isolate('s1')));
    assert.deepEqual(result.output, { backend: 'be_app', server: 's1', previous: 'ready', current: 'maint', changed: true, verified: true });
    assert.equal(await admin('s1'), 'maint');
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await httpGet(fx.frontendPort));
    assert.deepEqual([...answers], ['s2']);
  });

  test('isolating it again is a no-op that still reports the server as isolated', async () => {
    const result = await h.runAction(request(isolate('s1')));
    assert.equal(result.output.changed, false);
    assert.equal(result.output.current, 'maint');
  });

  test('isolating the last server taking traffic is refused non-retryably and changes nothing', async () => {
    const failure = await rejectsWith(h.runAction(request(isolate('s2'))), 'LastActiveServer', true);
    assert.match(failure.message, /last server of be_app/);
    assert.equal(await admin('s2'), 'ready');
    await rejectsWith(h.runAction(request(isolate('s2'), { dryRun: true })), 'LastActiveServer', true);
    assert.equal(await admin('s2'), 'ready');
  });

  test('a dry-run restore reads the live state and plans the change without making it', async () => {
    const result = await h.runAction(request(restore('s1'), { dryRun: true }));
    assert.equal(result.dryRun, true);
    assert.deepEqual(result.output, { dry_run: true, backend: 'be_app', server: 's1', previous: 'maint', would_change: true });
    assert.match(result.plan ?? '', /would send "set server be_app\/s1 state ready"/);
    assert.equal(await admin('s1'), 'maint');
  });

  test('restoring puts the server back in rotation and both servers answer again', async () => {
    const result = await h.runAction(request(restore('s1')));
    assert.deepEqual(result.output, { backend: 'be_app', server: 's1', previous: 'maint', current: 'ready', changed: true, verified: true });
    const answers = new Set<string>();
    await waitFor(
      async () => answers.add(await httpGet(fx.frontendPort)),
      () => answers.size === 2,
    );
  });

  test('draining without verify still reports what HAProxy reads back', async () => {
    const result = await h.runAction(request(isolate('s2', { state: 'drain', verify: false })));
    assert.equal(result.output.previous, 'ready');
    assert.equal(result.output.current, 'drain');
    assert.equal(result.output.changed, true);
    await h.runAction(request(restore('s2')));
    assert.equal(await admin('s2'), 'ready');
  });

  test('a restore through drain leaves maintenance for drain, waits for the health checks, then sets ready', async () => {
    await h.runAction(request(isolate('s1')));
    const result = await h.runAction(request(action({ kind: 'restore', haproxy: { socket: fx.socketPath, backend: fx.backend, server: 's1', via_drain: true } })));
    assert.equal(result.output.via_drain, true);
    assert.equal(result.output.previous, 'maint');
    assert.equal(result.output.current, 'ready');
    assert.equal(result.output.verified, true);
    assert.equal(typeof result.output.checked_up_ms, 'number');
    assert.match(result.summary, /through drain/);
    assert.equal(await admin('s1'), 'ready');
  });

  test('a restore through drain of a server already in rotation changes nothing', async () => {
    const result = await h.runAction(request(action({ kind: 'restore', haproxy: { socket: fx.socketPath, backend: fx.backend, server: 's1', via_drain: true } })));
    assert.equal(result.output.via_drain, false);
    assert.equal(result.output.changed, false);
  });

  test('an unknown server is a non-retryable TargetNotFound', async () => {
    await rejectsWith(h.runAction(request(isolate('s9'))), 'TargetNotFound', true);
  });
});
