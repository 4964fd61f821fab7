import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { headers as natsHeaders, type JetStreamClient, type JetStreamPublishOptions, type MsgHdrs } from 'nats';
import { HDR, headerBytes, PAYLOAD_SAFETY_MARGIN, storeDeadLetter } from '../../intake/dead-letter';
import { deadLetterBody } from '../../intake/dead-letter-body';
import { isFinalDelivery, nakDelayMs } from '../../intake/delivery-attempts';
import { consumerUpgrade, DEFAULT_MAX_DELIVER, EARLIER_MAX_ACK_PENDING, DEFAULT_REDELIVERY_BACKOFF_MS, intakeConsumerConfig } from '../../intake/streams';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i % 251);

describe('dead-letter body', () => {
  test('an original within the budget is kept whole, with its size and digest', () => {
    const original = bytes(100);
    const body = deadLetterBody(original, 100);
    assert.equal(body.truncated, false);
    assert.deepEqual(body.data, original);
    assert.equal(body.size, 100);
    assert.equal(body.sha256, sha(original));
  });

  test('an original over the budget keeps exactly its leading budget bytes, while size and digest describe the whole', () => {
    const original = bytes(1_000);
    const body = deadLetterBody(original, 300);
    assert.equal(body.truncated, true);
    assert.equal(body.data.byteLength, 300);
    assert.deepEqual(body.data, original.subarray(0, 300));
    assert.equal(body.size, 1_000);
    assert.equal(body.sha256, sha(original));
    assert.notEqual(body.sha256, sha(body.data));
  });

  test('a budget of zero or less keeps no bytes rather than failing', () => {
    assert.equal(deadLetterBody(bytes(10), 0).data.byteLength, 0);
    assert.equal(deadLetterBody(bytes(10), -50).data.byteLength, 0);
    assert.equal(deadLetterBody(bytes(10), -50).truncated, true);
  });
});

/** A JetStream client that records what would be published. */
function recordingJs(): { js: JetStreamClient; published: { subject: string; data: Uint8Array; headers: MsgHdrs; msgID?: string }[] } {
  const published: { subject: string; data: Uint8Array; headers: MsgHdrs; msgID?: string }[] = [];
  const js = {
    publish: (subject: string, data: Uint8Array, opts: Partial<JetStreamPublishOptions>) => {
      published.push({ subject, data, headers: opts.headers as MsgHdrs, ...(opts.msgID ? { msgID: opts.msgID } : {}) });
      return Promise.resolve({ stream: 'FAULTS_DEAD', seq: published.length, duplicate: false });
    },
  } as unknown as JetStreamClient;
  return { js, published };
}

/** Bytes the client would send for a record: the encoded headers (with the message id it adds) plus the body. */
function wireSize(p: { data: Uint8Array; headers: MsgHdrs; msgID?: string }): number {
  const h = natsHeaders();
  for (const k of p.headers.keys()) for (const v of p.headers.values(k)) h.append(k, v);
  if (p.msgID) h.set('Nats-Msg-Id', p.msgID);
  return (h as unknown as { encode(): Uint8Array }).encode().byteLength + p.data.byteLength;
}

describe('storing a dead letter', () => {
  const input = { originalSubject: 'faults.web.disk_full', originalSeq: 7 };

  test('the header size we count is never less than what the client encodes', () => {
    const h = natsHeaders();
    h.set(HDR.reason, 'not_json');
    h.set(HDR.error, 'é'.repeat(300));
    h.set(HDR.originalSubject, 'faults.x.y');
    h.append('X-Multi', 'a');
    h.append('X-Multi', 'b');
    assert.ok(headerBytes(h) >= (h as unknown as { encode(): Uint8Array }).encode().byteLength);
  });

  test('an original that fits is stored whole with its size and sha256, not marked truncated', async () => {
    const { js, published } = recordingJs();
    const data = bytes(2_000);
    await storeDeadLetter(js, { ...input, data }, 'not_json', 'body is not JSON', 'dead-7', { maxPayload: 1024 * 1024 });
    const [p] = published;
    assert.ok(p);
    assert.deepEqual(p.data, data);
    assert.equal(p.headers.get(HDR.originalSize), '2000');
    assert.equal(p.headers.get(HDR.originalSha256), sha(data));
    assert.equal(p.headers.has(HDR.truncated), false);
  });

  test('an original just under max_payload is stored truncated, the record within max_payload by the safety margin', async () => {
    const maxPayload = 64 * 1024;
    const data = bytes(maxPayload - 64);
    const { js, published } = recordingJs();
    await storeDeadLetter(js, { ...input, data }, 'too_large', 'x'.repeat(10_000), 'dead-7', { maxPayload, deliveries: 3 });
    const [p] = published;
    assert.ok(p);
    assert.equal(p.headers.get(HDR.truncated), 'true');
    assert.match(p.headers.get(HDR.truncatedReason), /max_payload of 65536 bytes/);
    assert.equal(p.headers.get(HDR.originalSize), String(data.byteLength));
    assert.equal(p.headers.get(HDR.originalSha256), sha(data));
    assert.equal(p.headers.get(HDR.deliveries), '3');
    assert.deepEqual(p.data, data.subarray(0, p.data.byteLength), 'the leading bytes are kept');
    const size = wireSize(p);
    assert.ok(size <= maxPayload - PAYLOAD_SAFETY_MARGIN, `record of ${size} bytes`);
    assert.ok(size > maxPayload - PAYLOAD_SAFETY_MARGIN - 512, `as many bytes as fit are kept (record of ${size} bytes)`);
  });
});

describe('delivery attempts', () => {
  test('only the delivery that reaches max_deliver is final', () => {
    assert.equal(isFinalDelivery(1, 5), false);
    assert.equal(isFinalDelivery(4, 5), false);
    assert.equal(isFinalDelivery(5, 5), true);
    assert.equal(isFinalDelivery(6, 5), true, 'a later delivery (the limit lowered meanwhile) is final too');
  });

  test('an unlimited consumer never has a final delivery', () => {
    assert.equal(isFinalDelivery(10_000, -1), false);
    assert.equal(isFinalDelivery(10_000, 0), false);
  });

  test('nak delays double from the base up to the cap', () => {
    const backoff = { baseMs: 1_000, maxMs: 15_000 };
    assert.deepEqual([1, 2, 3, 4, 5, 6, 100].map((n) => nakDelayMs(n, backoff)), [1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });

  test('the default bound exceeds the backoff steps, as the server requires, and covers an hour of naks at the longest delay', () => {
    assert.ok(DEFAULT_MAX_DELIVER > DEFAULT_REDELIVERY_BACKOFF_MS.length);
    let total = 0;
    for (let n = 1; n < DEFAULT_MAX_DELIVER; n++) total += nakDelayMs(n, { baseMs: 1_000, maxMs: 15_000 });
    assert.ok(total >= 3_600_000, `${total} ms`);
  });
});

describe('consumer upgrade', () => {
  test('a consumer created with unlimited deliveries is bounded', () => {
    const want = intakeConsumerConfig(7);
    assert.deepEqual(consumerUpgrade(want, { ...want, max_deliver: -1 }), { max_deliver: 7 });
    assert.deepEqual(consumerUpgrade(want, { ...want, max_deliver: 0 }), { max_deliver: 7 });
  });

  test('a finite bound an operator chose is left alone (and reported as drift elsewhere)', () => {
    const want = intakeConsumerConfig(7);
    assert.equal(consumerUpgrade(want, { ...want, max_deliver: 20 }), undefined);
    assert.equal(consumerUpgrade(want, want), undefined);
  });

  test('the pending-ack room earlier versions created is raised to the current default, and any other choice kept', () => {
    const want = intakeConsumerConfig(7);
    assert.ok((want.max_ack_pending ?? 0) > EARLIER_MAX_ACK_PENDING);
    assert.deepEqual(consumerUpgrade(want, { ...want, max_ack_pending: EARLIER_MAX_ACK_PENDING }), { max_ack_pending: want.max_ack_pending });
    assert.deepEqual(consumerUpgrade(want, { ...want, max_ack_pending: EARLIER_MAX_ACK_PENDING, max_deliver: -1 }), { max_deliver: 7, max_ack_pending: want.max_ack_pending });
    assert.equal(consumerUpgrade(want, { ...want, max_ack_pending: 500 }), undefined);
  });
});
