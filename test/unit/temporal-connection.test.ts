import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ENV, loadConfig } from '../../config/config';
import { temporalConnectOptions } from '../../config/temporal-connection';

const dir = mkdtempSync(join(tmpdir(), 'temporal-connection-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
};
const isConfigError = (...parts: string[]) => (err: unknown): boolean => {
  assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
  for (const part of parts) assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} names ${part}`);
  return true;
};

test('without any Temporal security setting the connection is plain', async () => {
  const c = loadConfig({}, {});
  assert.equal(c.temporalTls, false);
  assert.deepEqual(await temporalConnectOptions(c), { address: '127.0.0.1:7233' });
});

test('RUNBOOK_TEMPORAL_TLS alone turns on TLS with the system trust store', async () => {
  const c = loadConfig({}, { [ENV.temporalTls]: 'true', [ENV.temporalAddress]: 'temporal.example:7233' });
  assert.deepEqual(await temporalConnectOptions(c), { address: 'temporal.example:7233', tls: true });
});

test('a CA, a client certificate pair and a server name become the SDK TLS options, read from their files', async () => {
  const env = {
    [ENV.temporalTlsCa]: file('ca.pem', 'CA PEM'),
    [ENV.temporalTlsCert]: file('client.pem', 'CERT PEM'),
    [ENV.temporalTlsKey]: file('client-key.pem', 'KEY PEM'),
    [ENV.temporalTlsServerName]: 'temporal',
  };
  const c = loadConfig({}, env);
  assert.equal(c.temporalTls, true, 'implied by the other settings');
  const options = await temporalConnectOptions(c);
  assert.equal(options.address, '127.0.0.1:7233');
  assert.ok(options.tls && options.tls !== true);
  assert.equal(options.tls.serverRootCACertificate?.toString(), 'CA PEM');
  assert.equal(options.tls.clientCertPair?.crt.toString(), 'CERT PEM');
  assert.equal(options.tls.clientCertPair?.key.toString(), 'KEY PEM');
  assert.equal(options.tls.serverNameOverride, 'temporal');
  assert.equal(options.apiKey, undefined);
});

test('a client certificate without its key, or a key without its certificate, is refused naming the missing variable', () => {
  const cert = file('only-cert.pem', 'CERT');
  assert.throws(() => loadConfig({}, { [ENV.temporalTlsCert]: cert }), isConfigError('RUNBOOK_TEMPORAL_TLS_KEY: must be set together with RUNBOOK_TEMPORAL_TLS_CERT'));
  assert.throws(() => loadConfig({}, { [ENV.temporalTlsKey]: cert }), isConfigError('RUNBOOK_TEMPORAL_TLS_CERT: must be set together with RUNBOOK_TEMPORAL_TLS_KEY'));
});

test('an API key file implies TLS and is sent without its trailing newline', async () => {
  const c = loadConfig({}, { [ENV.temporalApiKeyFile]: file('api.key', 'k3y-value\n') });
  assert.equal(c.temporalTls, true);
  assert.deepEqual(await temporalConnectOptions(c), { address: '127.0.0.1:7233', tls: true, apiKey: 'k3y-value' });
});

test('TLS turned off while a setting that needs it is given is refused naming both', () => {
  assert.throws(
    () => loadConfig({}, { [ENV.temporalTls]: 'false', [ENV.temporalApiKeyFile]: '/run/secrets/temporal-api-key' }),
    isConfigError('RUNBOOK_TEMPORAL_TLS: is off', 'RUNBOOK_TEMPORAL_API_KEY_FILE'),
  );
  assert.equal(loadConfig({}, { [ENV.temporalTls]: 'false' }).temporalTls, false);
});

test('a bad TLS switch or server name is refused naming the variable', () => {
  assert.throws(() => loadConfig({}, { [ENV.temporalTls]: 'yes please' }), isConfigError('RUNBOOK_TEMPORAL_TLS'));
  assert.throws(() => loadConfig({}, { [ENV.temporalTlsServerName]: 'two words' }), isConfigError('RUNBOOK_TEMPORAL_TLS_SERVER_NAME'));
});

test('an unreadable file is a ConfigError at connect time naming the variable and the path', async () => {
  const missing = join(dir, 'no-such-ca.pem');
  const c = loadConfig({}, { [ENV.temporalTlsCa]: missing });
  await assert.rejects(temporalConnectOptions(c), isConfigError('RUNBOOK_TEMPORAL_TLS_CA', missing, 'ENOENT'));
  const key = loadConfig({}, { [ENV.temporalApiKeyFile]: dir });
  await assert.rejects(temporalConnectOptions(key), isConfigError('RUNBOOK_TEMPORAL_API_KEY_FILE', dir));
});

test('an API key file that does not hold one key on one line is refused without quoting its content', async () => {
  for (const content of ['', '  \n', 's3cret-one\ns3cret-two\n', 's3cret with spaces']) {
    const path = file('bad-api.key', content);
    const c = loadConfig({}, { [ENV.temporalApiKeyFile]: path });
    await assert.rejects(temporalConnectOptions(c), (err: unknown) => {
      isConfigError('RUNBOOK_TEMPORAL_API_KEY_FILE', path)(err);
      assert.ok(!(err as Error).message.includes('s3cret'), 'the key is not in the message');
      return true;
    });
  }
});

test('a rotated file is read again by the next connection', async () => {
  const path = file('rotating.key', 'old-key');
  const c = loadConfig({}, { [ENV.temporalApiKeyFile]: path });
  assert.equal((await temporalConnectOptions(c)).apiKey, 'old-key');
  writeFileSync(path, 'new-key\n');
  assert.equal((await temporalConnectOptions(c)).apiKey, 'new-key');
});
