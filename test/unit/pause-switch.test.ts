import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KV, KvEntry } from 'nats';
import { PAUSE_UNKNOWN, readPauseSwitch } from '../../activities/guard-activities';
import { CONTROL_BUCKET, PAUSE_KEY } from '../../schemas/control-bucket';
import { action, harness, request, testDeps } from '../fixtures/activities/harness';

/** A control bucket whose `get` answers with `entry` (or throws it, if it is an Error). */
function bucket(entry: Partial<KvEntry> | null | Error): () => Promise<KV> {
  const kv = {
    get: async (key: string) => {
      assert.equal(key, PAUSE_KEY);
      if (entry instanceof Error) throw entry;
      return entry;
    },
  };
  return async () => kv as unknown as KV;
}

function stored(value: unknown, operation: KvEntry['operation'] = 'PUT'): Partial<KvEntry> {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return { operation, length: text.length, json: <T>() => JSON.parse(text) as T };
}

describe('readPauseSwitch', () => {
  test('a worker wired without a control bucket is never paused', async () => {
    assert.deepEqual(await readPauseSwitch(undefined), { paused: false });
  });

  test('an operator\'s pause is returned with who and why', async () => {
    const pause = { paused: true, by: 'erin', reason: 'maintenance window' };
    assert.deepEqual(await readPauseSwitch(bucket(stored(pause))), pause);
  });

  test('a resumed switch, a missing key and a deleted key mean not paused', async () => {
    assert.deepEqual(await readPauseSwitch(bucket(stored({ paused: false, by: 'erin' }))), { paused: false });
    assert.deepEqual(await readPauseSwitch(bucket(null)), { paused: false });
    assert.deepEqual(await readPauseSwitch(bucket({ operation: 'DEL', length: 0 })), { paused: false });
  });

  test('a bucket that is not reachable holds remediation', async () => {
    const pause = await readPauseSwitch(async () => undefined);
    assert.equal(pause.paused, true);
    assert.match(pause.reason ?? '', new RegExp(`^${PAUSE_UNKNOWN}: control bucket ${CONTROL_BUCKET} is not reachable`));
  });

  test('a bucket that cannot be opened holds remediation and says why', async () => {
    const pause = await readPauseSwitch(() => Promise.reject(new Error('NATS at nats://127.0.0.1:1 not reachable: CONNECTION_REFUSED')));
    assert.equal(pause.paused, true);
    assert.match(pause.reason ?? '', /^pause state unknown: control bucket runbook_control cannot be opened: .*CONNECTION_REFUSED/);
  });

  test('a read that fails holds remediation and says why', async () => {
    const pause = await readPauseSwitch(bucket(new Error('TIMEOUT')));
    assert.equal(pause.paused, true);
    assert.match(pause.reason ?? '', /^pause state unknown: reading paused from runbook_control failed: TIMEOUT/);
  });

  test('a value that is not a pause state holds remediation', async () => {
    assert.match((await readPauseSwitch(bucket(stored('"yes"')))).reason ?? '', /^pause state unknown: .* is not a pause state/);
    const garbled = await readPauseSwitch(bucket({ operation: 'PUT', length: 3, json: () => JSON.parse('{no') as never }));
    assert.equal(garbled.paused, true);
    assert.match(garbled.reason ?? '', /^pause state unknown: reading paused/);
  });
});

describe('an action asked to hold while paused', () => {
  test('is held, not run, when the pause switch cannot be read at all', async () => {
    const h = harness(testDeps({ pauseSwitch: () => Promise.reject(new Error('bucket gone')) }));
    const result = await h.runAction(request(action({ kind: 'command', argv: [process.execPath, '-e', 'process.exit(3)'] }), { holdWhilePaused: true }));
    assert.equal(result.held?.paused, true);
    assert.equal(result.summary, 'held: remediation is paused');
    assert.match(result.held?.reason ?? '', /^pause state unknown: reading the pause switch failed: bucket gone/);
  });
});
