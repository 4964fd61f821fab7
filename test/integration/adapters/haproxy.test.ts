import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  countActiveServers,
  getServerState,
  listServers,
  setServerState,
} from '../../../activities/adapters/haproxy';
import { InvalidSpecError, TargetNotFoundError } from '../../../activities/adapters/errors';
import { startHaproxyFixture } from '../../helpers/haproxy-fixture';
import type { HaproxyFixture } from '../../helpers/haproxy-fixture';

function getThroughFrontend(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error('frontend request timed out')));
    req.on('error', reject);
  });
}

async function answeringServers(port: number, requests: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < requests; i++) seen.add(await getThroughFrontend(port));
  return seen;
}

describe('haproxy adapter against a real haproxy', () => {
  let fx: HaproxyFixture;
  let unix: { socket: string };
  let tcp: { socket: string };

  before(async () => {
    fx = await startHaproxyFixture({ tcpStats: true });
    unix = { socket: fx.socketPath };
    tcp = { socket: fx.tcpSocket as string };
  });
  after(async () => {
    await fx?.stop();
  });

  test('lists both configured servers as ready and up', async () => {
    const servers = await listServers({ ...unix, backend: fx.backend });
    assert.deepEqual(
      servers.map((s) => [s.server, s.admin, s.operational, s.port]),
      fx.servers.map((s) => [s.name, 'ready', 'up', s.port]),
    );
    assert.equal(await countActiveServers({ ...unix, backend: fx.backend }), 2);
  });

  test('drains a server, reads the drain back, and a repeat changes nothing', async () => {
    const first = await setServerState({ ...unix, backend: fx.backend, server: 's1', state: 'drain', dryRun: false });
    assert.deepEqual(first, { dryRun: false, previous: 'ready', current: 'drain', changed: true, verified: true });
    assert.equal((await getServerState({ ...unix, backend: fx.backend, server: 's1' })).admin, 'drain');
    assert.equal(await countActiveServers({ ...unix, backend: fx.backend }), 1);

    const again = await setServerState({ ...unix, backend: fx.backend, server: 's1', state: 'drain', dryRun: false });
    assert.deepEqual(again, { dryRun: false, previous: 'drain', current: 'drain', changed: false, verified: true });
  });

  test('puts a server in maint over the tcp stats socket and brings it back to ready', async () => {
    const maint = await setServerState({ ...tcp, backend: fx.backend, server: 's1', state: 'maint', dryRun: false });
    assert.equal(maint.dryRun, false);
    assert.equal(maint.dryRun === false && maint.current, 'maint');
    const seen = await getServerState({ ...unix, backend: fx.backend, server: 's1' });
    assert.equal(seen.admin, 'maint');
    assert.equal(seen.operational, 'down');

    const ready = await setServerState({ ...tcp, backend: fx.backend, server: 's1', state: 'ready', dryRun: false });
    assert.deepEqual(ready, { dryRun: false, previous: 'maint', current: 'ready', changed: true, verified: true });
  });

  test('traffic through the frontend stops reaching a server in maint and returns when it is ready', async () => {
    assert.deepEqual(await answeringServers(fx.frontendPort, 6), new Set(['s1', 's2']));
    await setServerState({ ...unix, backend: fx.backend, server: 's1', state: 'maint', dryRun: false });
    try {
      assert.deepEqual(await answeringServers(fx.frontendPort, 8), new Set(['s2']));
    } finally {
      await setServerState({ ...unix, backend: fx.backend, server: 's1', state: 'ready', dryRun: false });
    }
    assert.deepEqual(await answeringServers(fx.frontendPort, 6), new Set(['s1', 's2']));
  });

  test('dry-run reports the plan from live state and changes nothing', async () => {
    const plan = await setServerState({ ...unix, backend: fx.backend, server: 's2', state: 'maint', dryRun: true });
    assert.equal(plan.dryRun, true);
    assert.equal(plan.previous, 'ready');
    assert.equal(plan.dryRun && plan.wouldChange, true);
    assert.match(plan.dryRun ? plan.plan : '', /set server be_app\/s2 state maint/);
    assert.equal((await getServerState({ ...unix, backend: fx.backend, server: 's2' })).admin, 'ready');

    const noop = await setServerState({ ...unix, backend: fx.backend, server: 's2', state: 'ready', dryRun: true });
    assert.equal(noop.dryRun && noop.wouldChange, false);
    assert.match(noop.dryRun ? noop.plan : '', /already ready/);
  });

  test('an unknown server or backend is a TargetNotFound error', async () => {
    await assert.rejects(
      setServerState({ ...unix, backend: fx.backend, server: 'nope', state: 'drain', dryRun: false }),
      TargetNotFoundError,
    );
    await assert.rejects(getServerState({ ...unix, backend: 'missing_be', server: 's1' }), (err: unknown) => {
      assert.ok(err instanceof TargetNotFoundError);
      assert.equal(err.retryable, false);
      return true;
    });
  });

  test('names that could smuggle protocol text are refused before anything is sent', async () => {
    for (const server of ['s1\nshutdown frontend fe_app', 's1 state', '-s1', '', 'x'.repeat(65)]) {
      await assert.rejects(
        setServerState({ ...unix, backend: fx.backend, server, state: 'maint', dryRun: false }),
        InvalidSpecError,
      );
    }
    assert.equal(await countActiveServers({ ...unix, backend: fx.backend }), 2);
  });
});
