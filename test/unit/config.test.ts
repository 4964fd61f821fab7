import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, ENV, loadConfig } from '../../config/config';

test('defaults apply when neither flags nor environment say otherwise', () => {
  const c = loadConfig({}, {});
  assert.equal(c.namespace, 'runbooks');
  assert.equal(c.temporalAddress, '127.0.0.1:7233');
  assert.equal(c.natsUrl, 'nats://127.0.0.1:4222');
  assert.equal(c.mode, 'development');
});

test('an environment variable overrides the default and a flag overrides the environment', () => {
  const env = { [ENV.natsPort]: '5222', [ENV.namespace]: 'from-env' };
  assert.equal(loadConfig({}, env).natsUrl, 'nats://127.0.0.1:5222');
  assert.equal(loadConfig({}, env).namespace, 'from-env');
  assert.equal(loadConfig({ namespace: 'from-flag', natsPort: 6222 }, env).namespace, 'from-flag');
  assert.equal(loadConfig({ natsPort: 6222 }, env).natsUrl, 'nats://127.0.0.1:6222');
});

test('a bad environment value stops start-up with an error naming the variable', () => {
  assert.throws(() => loadConfig({}, { [ENV.natsPort]: 'not-a-port' }), (err: unknown) => err instanceof ConfigError && err.message.includes('RUNBOOK_NATS_PORT'));
  assert.throws(() => loadConfig({}, { [ENV.mode]: 'prod' }), /RUNBOOK_MODE/);
});

test('a bad flag value is reported under the flag name', () => {
  assert.throws(() => loadConfig({ temporalPort: 70000 }, {}), /--temporal-port/);
});
