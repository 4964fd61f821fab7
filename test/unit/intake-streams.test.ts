import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nanos } from 'nats';
import { configDrift, DEFAULT_ACK_WAIT_MS, DEFAULT_REDELIVERY_BACKOFF_MS, intakeConsumerConfig, isNotFound, streamConfigs } from '../../intake/streams';

/** A stream configuration as nats-server 2.14 returns it for what streamConfigs() asks. */
function asServerReturns(want: Record<string, unknown>): Record<string, unknown> {
  return {
    retention: 'limits',
    max_consumers: -1,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    max_msgs_per_subject: -1,
    max_msg_size: -1,
    discard: 'old',
    storage: 'file',
    num_replicas: 1,
    duplicate_window: 120_000_000_000,
    compression: 'none',
    allow_direct: false,
    sealed: false,
    consumer_limits: {},
    metadata: { '_nats.ver': '2.14.9' },
    ...want,
  };
}

describe('JetStream configuration drift', () => {
  test('a stream exactly as the server returns it reports no drift, server defaults included', () => {
    for (const want of streamConfigs()) {
      assert.deepEqual(configDrift(want as Record<string, unknown>, asServerReturns(want as Record<string, unknown>)), [], String(want.name));
    }
  });

  test('a consumer as the server returns it reports no drift although the server rewrites the ack wait to the first backoff', () => {
    const want = intakeConsumerConfig() as Record<string, unknown>;
    const have = { ...want, name: 'intake', replay_policy: 'instant', max_waiting: 512, num_replicas: 0, ack_wait: nanos(DEFAULT_REDELIVERY_BACKOFF_MS[0] ?? 0), metadata: {} };
    assert.deepEqual(configDrift(want, have), []);
    assert.equal(DEFAULT_ACK_WAIT_MS, DEFAULT_REDELIVERY_BACKOFF_MS[0]);
  });

  test('subjects in another order and "no limit" spelt 0 or -1 are not drift', () => {
    assert.deepEqual(configDrift({ subjects: ['a.>', 'b.>'], max_deliver: -1 }, { subjects: ['b.>', 'a.>'], max_deliver: 0 }), []);
  });

  test('a setting an operator changed is reported with both values', () => {
    const want = intakeConsumerConfig() as Record<string, unknown>;
    const drift = configDrift(want, { ...want, max_ack_pending: 20 });
    assert.equal(drift.length, 1);
    assert.match(drift[0] ?? '', /^max_ack_pending: have 20, want 10000$/);
  });

  test('a changed backoff is reported even though the ack wait follows it', () => {
    const want = intakeConsumerConfig() as Record<string, unknown>;
    const drift = configDrift(want, { ...want, backoff: [nanos(1_000)], ack_wait: nanos(1_000) });
    assert.ok(drift.some((d) => d.startsWith('backoff:')), drift.join('\n'));
  });

  test('a missing stream duplicate window or changed storage is reported', () => {
    const [faults] = streamConfigs();
    assert.ok(faults);
    const have = asServerReturns({ ...(faults as Record<string, unknown>), storage: 'memory' });
    assert.deepEqual(configDrift(faults as Record<string, unknown>, have).map((d) => d.split(':')[0]), ['storage']);
  });
});

describe('isNotFound', () => {
  test('recognises the JetStream API answers for a missing stream or consumer', () => {
    assert.equal(isNotFound({ api_error: { code: 404, err_code: 10059, description: 'stream not found' } }), true);
    assert.equal(isNotFound({ api_error: { code: 404, err_code: 10014, description: 'consumer not found' } }), true);
  });

  test('does not mistake a timeout or another API error for "not found"', () => {
    assert.equal(isNotFound(new Error('TIMEOUT')), false);
    assert.equal(isNotFound({ code: '503', message: 'no responders' }), false);
    assert.equal(isNotFound({ api_error: { code: 500, err_code: 10008, description: 'jetstream not enabled' } }), false);
    assert.equal(isNotFound(undefined), false);
  });
});
