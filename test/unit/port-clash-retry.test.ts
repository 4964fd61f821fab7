import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PortInUseError, retryOnPortClash } from '../../stack/ports';

test('a port clash costs one more pick, up to the limit, and other errors are not retried', async () => {
  let calls = 0;
  const clashOnce = async (): Promise<string> => {
    calls++;
    if (calls === 1) throw new PortInUseError(12345, 'test', '--port');
    return 'started';
  };
  assert.equal(await retryOnPortClash(clashOnce), 'started');
  assert.equal(calls, 2);

  calls = 0;
  await assert.rejects(retryOnPortClash(async () => {
    calls++;
    throw new PortInUseError(12345, 'test', '--port');
  }), PortInUseError);
  assert.equal(calls, 3, 'gave up after three picks');

  calls = 0;
  await assert.rejects(retryOnPortClash(async () => {
    calls++;
    throw new Error('something else');
  }), /something else/);
  assert.equal(calls, 1, 'another failure is not retried');
});
