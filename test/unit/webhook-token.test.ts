import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readyBanner } from '../../cli/commands/up';
import { loadConfig } from '../../config/config';
import type { StackInfo } from '../../stack/stack-file';
import { ensureWebhookToken, withWebhookCredential, WEBHOOK_TOKEN_FILE } from '../../stack/webhook-token';

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'webhook-token-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('the stack generates a random token once, readable by its owner only, and reuses it on every later start', () => {
  const dir = stateDir();
  const file = ensureWebhookToken(dir);
  assert.equal(file, join(dir, WEBHOOK_TOKEN_FILE));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const token = readFileSync(file, 'utf8').trim();
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  assert.equal(ensureWebhookToken(dir), file);
  assert.equal(readFileSync(file, 'utf8').trim(), token, 'the same token the second time');
  assert.notEqual(readFileSync(ensureWebhookToken(stateDir()), 'utf8').trim(), token, 'another state directory gets its own');
});

test('an existing token file left too open is narrowed to 0600; an empty one is refused', () => {
  const dir = stateDir();
  writeFileSync(join(dir, WEBHOOK_TOKEN_FILE), 'operator-chosen-token\n', { mode: 0o644 });
  const file = ensureWebhookToken(dir);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(readFileSync(file, 'utf8').trim(), 'operator-chosen-token');
  writeFileSync(file, '');
  assert.throws(() => ensureWebhookToken(dir), /empty/);
});

test('the generated token is used only when no credential is configured and auth is not turned off', () => {
  const dir = stateDir();
  assert.equal(withWebhookCredential(loadConfig({}, {}), dir).intakeWebhookTokenFile, join(dir, WEBHOOK_TOKEN_FILE));
  assert.equal(withWebhookCredential(loadConfig({ intakeWebhookTokenFile: '/etc/own.token' }, {}), dir).intakeWebhookTokenFile, '/etc/own.token');
  assert.equal(withWebhookCredential(loadConfig({ intakeWebhookBasicUser: 'am', intakeWebhookBasicPasswordFile: '/p' }, {}), dir).intakeWebhookTokenFile, undefined);
  assert.equal(withWebhookCredential(loadConfig({ intakeWebhookAuth: 'none' }, {}), dir).intakeWebhookTokenFile, undefined);
});

test('runbook up prints the Alertmanager webhook_configs snippet with the token file, never the token', () => {
  const dir = stateDir();
  const file = ensureWebhookToken(dir);
  const info: StackInfo = {
    supervisorPid: 1, ready: true, startedAt: '', stateDir: dir, namespace: 'runbooks', taskQueue: 'runbooks', temporalAddress: '127.0.0.1:7233',
    natsUrl: 'nats://127.0.0.1:4222', natsMonitorUrl: 'http://127.0.0.1:8222', intakeUrl: 'http://127.0.0.1:9110', intakeWebhookTokenFile: file,
    workerUrl: 'http://127.0.0.1:9111', ports: {}, components: {},
  };
  const banner = readyBanner(info);
  assert.match(banner, /webhook_configs:\n\s+- url: http:\/\/127\.0\.0\.1:9110\/alertmanager\n\s+http_config:\n\s+authorization:\n\s+type: Bearer\n\s+credentials_file: (.+)/);
  assert.ok(banner.includes(`credentials_file: ${file}`));
  assert.ok(!banner.includes(readFileSync(file, 'utf8').trim()), 'the token itself is not printed');
});
