import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import crypto from 'node:crypto';
import { after, mock, test } from 'node:test';
import { ENV } from '../../config/config';
import { checkWebhookAuth, loadWebhookCredentials, webhookAuthenticator, webhookChallenge, WebhookAuthConfigError } from '../../intake/webhook-auth';

const dir = mkdtempSync(join(tmpdir(), 'webhook-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

const TOKEN = 'rbk_webhook-secret-0123456789';
const tokenFile = secretFile('token', `${TOKEN}\n`);
const passwordFile = secretFile('password', 'hunter2-but-longer\n');
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('the bearer token from the file is accepted, its trailing newline not being part of it', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile });
  assert.deepEqual(checkWebhookAuth(`Bearer ${TOKEN}`, creds), { ok: true, scheme: 'bearer' });
  assert.deepEqual(checkWebhookAuth(`bearer ${TOKEN}`, creds), { ok: true, scheme: 'bearer' }, 'the scheme is case-insensitive');
});

test('a wrong, truncated or extended bearer token is refused as wrong', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile });
  for (const token of ['nope', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) {
    assert.deepEqual(checkWebhookAuth(`Bearer ${token}`, creds), { ok: false, reason: 'wrong' }, token);
  }
});

test('basic auth with the configured user and password is accepted; any other pair is wrong', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', basicUser: 'alertmanager', basicPasswordFile: passwordFile });
  assert.deepEqual(checkWebhookAuth(basic('alertmanager', 'hunter2-but-longer'), creds), { ok: true, scheme: 'basic' });
  assert.deepEqual(checkWebhookAuth(basic('alertmanager', 'hunter2'), creds), { ok: false, reason: 'wrong' });
  assert.deepEqual(checkWebhookAuth(basic('someone', 'hunter2-but-longer'), creds), { ok: false, reason: 'wrong' });
  assert.deepEqual(checkWebhookAuth(`Bearer hunter2-but-longer`, creds), { ok: false, reason: 'wrong' }, 'no bearer token is configured');
});

test('with both configured, either scheme gets in', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile, basicUser: 'am', basicPasswordFile: passwordFile });
  assert.equal(checkWebhookAuth(`Bearer ${TOKEN}`, creds).ok, true);
  assert.equal(checkWebhookAuth(basic('am', 'hunter2-but-longer'), creds).ok, true);
  assert.match(webhookChallenge(creds), /Basic realm=.*Bearer realm=/);
});

test('a missing or malformed Authorization header is told apart from a wrong one', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile, basicUser: 'am', basicPasswordFile: passwordFile });
  assert.deepEqual(checkWebhookAuth(undefined, creds), { ok: false, reason: 'missing' });
  assert.deepEqual(checkWebhookAuth('  ', creds), { ok: false, reason: 'missing' });
  for (const header of [TOKEN, 'Bearer', 'Bearer a b', 'Digest abc', 'Basic !!!notbase64', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
    assert.deepEqual(checkWebhookAuth(header, creds), { ok: false, reason: 'malformed' }, header);
  }
});

test('with no credential configured every request is refused as not configured, unless auth is explicitly none', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required' });
  assert.deepEqual(checkWebhookAuth(`Bearer ${TOKEN}`, creds), { ok: false, reason: 'not_configured' });
  assert.deepEqual(checkWebhookAuth(undefined, creds), { ok: false, reason: 'not_configured' });
  const open = await loadWebhookCredentials({ auth: 'none', tokenFile });
  assert.deepEqual(checkWebhookAuth(undefined, open), { ok: true, scheme: 'none' });
});

test('the secrets are kept only as digests, never as the text read', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile, basicUser: 'am', basicPasswordFile: passwordFile });
  const shown = JSON.stringify(creds) + String(Object.values(creds).map((v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))));
  assert.ok(!shown.includes(TOKEN) && !shown.includes('hunter2'), 'no secret text is held');
  assert.equal(creds.mode === 'required' && creds.bearer?.length, 32, 'a sha256 digest');
});

test('an unreadable or empty secret file, or a user without a password file, is a configuration error naming the variable', async () => {
  await assert.rejects(loadWebhookCredentials({ auth: 'required', tokenFile: join(dir, 'absent') }), (err: unknown) => err instanceof WebhookAuthConfigError && err.message.includes(ENV.intakeWebhookTokenFile));
  await assert.rejects(loadWebhookCredentials({ auth: 'required', tokenFile: secretFile('empty', '\n') }), /is empty/);
  await assert.rejects(loadWebhookCredentials({ auth: 'required', basicUser: 'am' }), new RegExp(ENV.intakeWebhookBasicPasswordFile));
});

test('a reload picks up a rotated token, and a reload that fails refuses everything rather than keeping the old token', async () => {
  const file = secretFile('rotating', 'first-token');
  const auth = await webhookAuthenticator({ auth: 'required', tokenFile: file });
  assert.equal(auth.check('Bearer first-token').ok, true);
  writeFileSync(file, 'second-token');
  await auth.reload();
  assert.deepEqual(auth.check('Bearer first-token'), { ok: false, reason: 'wrong' });
  assert.equal(auth.check('Bearer second-token').ok, true);
  rmSync(file);
  await assert.rejects(auth.reload(), WebhookAuthConfigError);
  const after = auth.check('Bearer second-token');
  assert.equal(after.ok, false);
  assert.equal(!after.ok && after.reason, 'unavailable');
  assert.equal(auth.configured(), false);
});

test('every presented secret, whatever its length or scheme, is compared as a 32-byte digest by timingSafeEqual', async () => {
  const creds = await loadWebhookCredentials({ auth: 'required', tokenFile });
  const spy = mock.method(crypto, 'timingSafeEqual');
  try {
    for (const header of [`Bearer ${TOKEN}`, 'Bearer x', `Bearer ${'y'.repeat(500)}`, basic('am', 'pw')]) checkWebhookAuth(header, creds);
    assert.equal(spy.mock.callCount(), 4, 'one constant-time comparison per request, also for a scheme with nothing configured');
    for (const call of spy.mock.calls) {
      const [a, b] = call.arguments as [Buffer, Buffer];
      assert.deepEqual([a.length, b.length], [32, 32]);
    }
  } finally {
    spy.mock.restore();
  }
});
