import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isElecting, outlastElection } from '../../intake/streams';
import { leadershipText, streamLines, type NatsClusterView } from '../../stack/nats-leaders';

const view: NatsClusterView = {
  reportedBy: 'nats-2',
  metaLeader: 'nats-2',
  streams: [
    { name: 'FAULTS', leader: 'nats-1', followers: [{ name: 'nats-2', current: true }, { name: 'nats-3', current: false }], messages: 12 },
    { name: 'RUNBOOK_AUDIT', leader: 'nats-2', followers: [{ name: 'nats-1', current: true }, { name: 'nats-3', current: true }], messages: 3 },
    { name: 'FAULTS_DEAD', followers: [], messages: 0 },
  ],
};

test('a node line names the meta leader and the streams the node leads', () => {
  assert.equal(leadershipText('nats-2', view), 'meta leader; leads RUNBOOK_AUDIT');
  assert.equal(leadershipText('nats-1', view), 'leads FAULTS');
  assert.equal(leadershipText('nats-3', view), '');
});

test('a stream line names its leader and each follower as current or catching up, and a stream without a leader says so', () => {
  assert.deepEqual(streamLines(view), [
    'FAULTS: leader nats-1, followers nats-2 current, nats-3 catching up, 12 messages',
    'RUNBOOK_AUDIT: leader nats-2, followers nats-1 current, nats-3 current, 3 messages',
    'FAULTS_DEAD: leader none (no quorum), 0 messages',
  ]);
});

test('timeouts, no responders and "temporarily unavailable" are elections, also as the cause of a setup error; a missing stream is not', () => {
  assert.equal(isElecting(Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' })), true);
  assert.equal(isElecting(Object.assign(new Error('503'), { code: '503' })), true);
  assert.equal(isElecting(Object.assign(new Error('unavailable'), { api_error: { code: 503, err_code: 10008 } })), true);
  assert.equal(isElecting(new Error('cannot check consumer intake', { cause: Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' }) })), true);
  assert.equal(isElecting(Object.assign(new Error('stream not found'), { api_error: { code: 404, err_code: 10059 } })), false);
  assert.equal(isElecting(new Error('permission denied')), false);
});

test('a call is repeated while the cluster elects and stops at the first other error or after the bound', async () => {
  let calls = 0;
  const elected = await outlastElection(async () => {
    calls += 1;
    if (calls < 3) throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
    return 'answer';
  });
  assert.deepEqual([elected, calls], ['answer', 3]);
  let other = 0;
  await assert.rejects(outlastElection(async () => {
    other += 1;
    throw new Error('permission denied');
  }), /permission denied/);
  assert.equal(other, 1);
  await assert.rejects(outlastElection(async () => {
    throw Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
  }, 0), /TIMEOUT/);
});
