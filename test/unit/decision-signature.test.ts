import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DecisionKeyError, ensureDecisionKey, readDecisionKey } from '../../config/decision-key';
import { canonicalDecision, signDecision, verifyDecisionSignature, type SignedDecisionFields } from '../../engine/decision-signature';

const key = Buffer.alloc(32, 7);
const fields: Omit<SignedDecisionFields, 'signedAt'> = {
  purpose: 'decision',
  incidentId: 'incident/db/node-1',
  requestId: 'r-1',
  step: 'isolate',
  verdict: 'approve',
  by: 'alice',
  channel: 'http',
  reason: 'looks right',
};

test('the canonical encoding is a fixed-order JSON array; absent and empty differ', () => {
  const at = '2026-01-01T00:00:00.000Z';
  assert.equal(
    canonicalDecision({ ...fields, signedAt: at }),
    '["runbook-decision-v1","decision","incident/db/node-1","r-1","isolate","approve","alice","http","2026-01-01T00:00:00.000Z","looks right",null]',
  );
  assert.notEqual(canonicalDecision({ ...fields, requestId: undefined, signedAt: at }), canonicalDecision({ ...fields, requestId: '', signedAt: at }));
  // A separator inside a field cannot shift it into its neighbour.
  assert.notEqual(canonicalDecision({ ...fields, by: 'alice","http', channel: '', signedAt: at }), canonicalDecision({ ...fields, signedAt: at }));
});

test('a signature verifies over exactly the fields it was made for', () => {
  const signature = signDecision(key, fields);
  assert.match(signature.mac, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(verifyDecisionSignature(key, fields, signature));
  for (const [name, value] of Object.entries({ purpose: 'refusal', incidentId: 'incident/db/node-2', requestId: 'r-2', step: 'restart', verdict: 'reject', by: 'mallory', channel: 'cli', reason: 'other' })) {
    assert.equal(verifyDecisionSignature(key, { ...fields, [name]: value }, signature), false, `a changed ${name} must not verify`);
  }
  assert.equal(verifyDecisionSignature(key, { ...fields, requestId: undefined }, signature), false, 'dropping the request id must not verify');
  assert.equal(verifyDecisionSignature(key, fields, { ...signature, signedAt: '2030-01-01T00:00:00.000Z' }), false, 'the signing time is covered');
  assert.equal(verifyDecisionSignature(randomBytes(32), fields, signature), false, 'another key does not verify');
  assert.equal(verifyDecisionSignature(key, fields, undefined), false);
  assert.equal(verifyDecisionSignature(key, fields, { signedAt: signature.signedAt, mac: 'short' }), false);
  assert.equal(verifyDecisionSignature(key, fields, { signedAt: signature.signedAt, mac: 7 } as never), false);
});

test('the decision key file is created once with mode 0600 and read back; loose modes and short keys are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decision-key-'));
  try {
    const path = join(dir, 'state', 'decision.key');
    ensureDecisionKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const first = readFileSync(path, 'utf8');
    ensureDecisionKey(path);
    assert.equal(readFileSync(path, 'utf8'), first, 'an existing key is kept');
    assert.equal(readDecisionKey(path).length, 32);

    chmodSync(path, 0o644);
    assert.throws(() => readDecisionKey(path), (e: unknown) => e instanceof DecisionKeyError && /readable by other users/.test(e.message) && !e.message.includes(first.trim()));
    writeFileSync(path, 'abcd\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    assert.throws(() => readDecisionKey(path), /at least 32 bytes/);
    assert.throws(() => readDecisionKey(join(dir, 'missing.key')), /cannot read the decision key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
