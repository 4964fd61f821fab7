import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFleet, type Fleet } from '../../demo/fleet';
import { demoLayout, pickDemoPorts, PRIMARY, STANDBY } from '../../demo/layout';
import { waitFor } from '../../stack/wait-for';

const dir = mkdtempSync(join(tmpdir(), 'demo-fleet-retries-'));
let fleet: Fleet;

before(async () => {
  fleet = await startFleet(demoLayout(join(dir, 'demo'), await pickDemoPorts()));
});

after(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function predict(method: 'GET' | 'POST'): Promise<{ status: number; instance?: string }> {
  const res = await fetch(`${fleet.layout.frontendUrl}/predict?x=1`, { method, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  const instance = res.ok ? (JSON.parse(text) as { instance?: string }).instance : undefined;
  return { status: res.status, ...(instance ? { instance } : {}) };
}

test('the hot standby is checked and up as the backup while the primary serves every request', async () => {
  assert.equal((await fleet.server(STANDBY)).operational, 'up');
  for (let i = 0; i < 5; i++) assert.deepEqual(await predict('GET'), { status: 200, instance: PRIMARY });
});

test('when the primary hangs, a GET is retried on the standby but a POST that reached the primary is not', async () => {
  await fleet.signalPrimary('SIGSTOP');
  try {
    const [get, post] = await Promise.all([predict('GET'), predict('POST')]);
    assert.deepEqual(get, { status: 200, instance: STANDBY }, 'the GET was retried on the standby');
    assert.equal(post.status, 504, 'the POST may have been acted on by the primary, so it is not sent again');
    await waitFor('HAProxy to mark the hung primary down', 5_000, async () => (await fleet.server(PRIMARY)).operational === 'down', 50);
    assert.deepEqual(await predict('POST'), { status: 200, instance: STANDBY }, 'once the primary is down, new requests of any method go to the standby');
  } finally {
    await fleet.signalPrimary('SIGCONT');
  }
});
