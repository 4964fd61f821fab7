import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDeployCertificates } from '../../cli/commands/certs';
import { CertificateError } from '../../platform/tls-certificates';

const ALL = ['ca-key.pem', 'ca.pem', 'client-key.pem', 'client.pem', 'nats-server-key.pem', 'nats-server.pem', 'temporal-server-key.pem', 'temporal-server.pem'];
const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });

test('runbook certs makes a CA, server certificates for temporal and nats and a client certificate, keys 0600', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certs-'));
  const result = await ensureDeployCertificates(dir);
  assert.deepEqual([...result.created].sort(), ALL);
  assert.deepEqual(readdirSync(dir).sort(), ALL, 'no work files left behind');
  for (const name of ALL) assert.equal(statSync(join(dir, name)).mode & 0o777, name.endsWith('-key.pem') ? 0o600 : 0o644, name);
  for (const [leaf, host] of [['temporal-server', 'temporal'], ['nats-server', 'nats']] as const) {
    const cert = join(dir, `${leaf}.pem`);
    assert.match(openssl('verify', '-CAfile', join(dir, 'ca.pem'), cert), /: OK/);
    const sans = openssl('x509', '-in', cert, '-noout', '-ext', 'subjectAltName');
    for (const name of [`DNS:${host}`, 'DNS:localhost', 'IP Address:127.0.0.1']) assert.ok(sans.includes(name), `${leaf} is valid for ${name}`);
  }
  assert.match(openssl('x509', '-in', join(dir, 'client.pem'), '-noout', '-ext', 'extendedKeyUsage'), /TLS Web Client Authentication/);
  rmSync(dir, { recursive: true });
});

test('a second run keeps every file, a missing one is reissued by the same CA, and --force replaces them all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certs-'));
  await ensureDeployCertificates(dir);
  const before = Object.fromEntries(ALL.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
  const again = await ensureDeployCertificates(dir);
  assert.deepEqual(again.created, []);
  for (const name of ALL) assert.equal(readFileSync(join(dir, name), 'utf8'), before[name], `${name} kept`);

  rmSync(join(dir, 'client.pem'));
  const refill = await ensureDeployCertificates(dir);
  assert.deepEqual(refill.created, ['client.pem', 'client-key.pem']);
  assert.equal(readFileSync(join(dir, 'ca.pem'), 'utf8'), before['ca.pem']);
  assert.match(openssl('verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'client.pem')), /: OK/);

  const forced = await ensureDeployCertificates(dir, { force: true });
  assert.deepEqual([...forced.created].sort(), ALL);
  assert.notEqual(readFileSync(join(dir, 'ca.pem'), 'utf8'), before['ca.pem'], 'a new CA');
  rmSync(dir, { recursive: true });
});

test('a missing certificate cannot be issued without the CA key, and the error says how to recover', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'certs-'));
  await ensureDeployCertificates(dir);
  rmSync(join(dir, 'ca-key.pem'));
  rmSync(join(dir, 'nats-server.pem'));
  await assert.rejects(ensureDeployCertificates(dir), (err: unknown) => err instanceof CertificateError && /ca-key\.pem is missing.*nats-server\.pem.*--force/.test(err.message));
  rmSync(dir, { recursive: true });
});
