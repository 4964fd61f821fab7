import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadConfig } from '../../config/config';
import { natsConnectOptions } from '../../config/nats-connect';
import { bcryptCost, credentialsDir, DEFAULT_BCRYPT_COST, ensureNatsCredentials, NatsCredentialError, passwordFile, resolveNatsCredential } from '../../config/nats-credentials';
import { NATS_ROLES } from '../../config/nats-permissions';

const temp = (): string => mkdtempSync(join(tmpdir(), 'nats-creds-'));

test('RUNBOOK_NATS_CREDS wins over a user and password, which win over the state directory', () => {
  const env = { RUNBOOK_STATE_DIR: '/state', RUNBOOK_NATS_CREDS: '/c.creds', RUNBOOK_NATS_USER: 'u', RUNBOOK_NATS_PASSWORD_FILE: '/p' };
  assert.deepEqual(resolveNatsCredential(loadConfig({}, env), 'worker'), { kind: 'creds', file: '/c.creds' });
  const { RUNBOOK_NATS_CREDS: _, ...noCreds } = env;
  assert.deepEqual(resolveNatsCredential(loadConfig({}, noCreds), 'worker'), { kind: 'password', user: 'u', passwordFile: '/p', source: 'RUNBOOK_NATS_PASSWORD_FILE' });
  const fromState = resolveNatsCredential(loadConfig({}, { RUNBOOK_STATE_DIR: '/state' }), 'worker');
  assert.equal(fromState.kind === 'password' && fromState.user, 'worker');
  assert.equal(fromState.kind === 'password' && fromState.passwordFile, join('/state', 'nats', 'credentials', 'worker.password'));
});

test('a user without a password file (or the reverse) is an error naming both variables', () => {
  assert.throws(() => resolveNatsCredential(loadConfig({}, { RUNBOOK_NATS_USER: 'u' }), 'worker'), (err: Error) => err instanceof NatsCredentialError && /RUNBOOK_NATS_PASSWORD_FILE/.test(err.message));
  assert.throws(() => resolveNatsCredential(loadConfig({}, { RUNBOOK_NATS_PASSWORD_FILE: '/p' }), 'worker'), /RUNBOOK_NATS_USER/);
});

test('a missing password file is a clear error naming the file, and the options never echo a secret in errors', () => {
  const dir = temp();
  try {
    assert.throws(() => natsConnectOptions({ natsUrl: 'nats://127.0.0.1:1', stateDir: dir }, 'producer'), (err: Error) => err instanceof NatsCredentialError && err.message.includes(passwordFile(credentialsDir(dir), 'producer')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('credentials are generated once per role, 0600, and reused; the server gets $2a$ bcrypt hashes of them', () => {
  const dir = temp();
  try {
    const first = ensureNatsCredentials(dir, 4);
    assert.deepEqual(first.map((u) => u.role), [...NATS_ROLES]);
    const passwords = NATS_ROLES.map((r) => readFileSync(passwordFile(dir, r), 'utf8'));
    for (const r of NATS_ROLES) assert.equal(statSync(passwordFile(dir, r)).mode & 0o777, 0o600);
    assert.equal(new Set(passwords).size, NATS_ROLES.length);
    const second = ensureNatsCredentials(dir, 4);
    assert.deepEqual(NATS_ROLES.map((r) => readFileSync(passwordFile(dir, r), 'utf8')), passwords);
    assert.deepEqual(second, first);
    for (const [i, u] of first.entries()) {
      assert.match(u.bcryptHash, /^\$2a\$04\$/);
      assert.equal(bcrypt.compareSync((passwords[i] ?? '').trim(), u.bcryptHash), true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a replaced password file gets a fresh hash (rotation)', () => {
  const dir = temp();
  try {
    const before = ensureNatsCredentials(dir, 4).find((u) => u.role === 'operator');
    writeFileSync(passwordFile(dir, 'operator'), 'rotated-password\n');
    const after = ensureNatsCredentials(dir, 4).find((u) => u.role === 'operator');
    assert.notEqual(after?.bcryptHash, before?.bcryptHash);
    assert.equal(bcrypt.compareSync('rotated-password', after?.bcryptHash ?? ''), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connect options carry the role, its inbox prefix and TLS files, and refuse a client certificate without its key', () => {
  const dir = temp();
  try {
    ensureNatsCredentials(credentialsDir(dir), 4);
    const o = natsConnectOptions({ natsUrl: 'tls://nats:4222', stateDir: dir, natsTlsCa: '/ca.pem' }, 'intake', { name: 'x' });
    assert.equal(o.user, 'intake');
    assert.equal(o.inboxPrefix, '_INBOX_intake');
    assert.deepEqual(o.tls, { caFile: '/ca.pem' });
    assert.equal(o.name, 'x');
    assert.throws(() => natsConnectOptions({ natsUrl: 'tls://nats:4222', stateDir: dir, natsTlsCert: '/c.pem' }, 'intake'), /RUNBOOK_NATS_TLS_KEY/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cached hash of another cost is made again with the cost asked for; one of the same cost is reused', () => {
  const dir = temp();
  try {
    const at10 = ensureNatsCredentials(dir, 10).find((u) => u.role === 'operator');
    assert.equal(bcryptCost(at10?.bcryptHash ?? ''), 10);
    const at6 = ensureNatsCredentials(dir).find((u) => u.role === 'operator');
    assert.equal(bcryptCost(at6?.bcryptHash ?? ''), DEFAULT_BCRYPT_COST);
    assert.equal(DEFAULT_BCRYPT_COST, 6);
    assert.equal(bcrypt.compareSync(readFileSync(passwordFile(dir, 'operator'), 'utf8').trim(), at6?.bcryptHash ?? ''), true);
    assert.equal(ensureNatsCredentials(dir).find((u) => u.role === 'operator')?.bcryptHash, at6?.bcryptHash, 'the same cost reuses the cached hash');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
