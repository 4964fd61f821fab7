import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { apiToken } from '../../cli/api-token';
import { readyBanner } from '../../cli/commands/up';
import { ENV, loadConfig } from '../../config/config';
import { createToken, identityForToken, loadTokensFile } from '../../config/tokens';
import { localOperator } from '../../stack/local-roster';
import { ensureOperatorToken, LOCAL_TOKENS_FILE, OPERATOR_TOKEN_FILE, operatorTokenLine, withOperatorToken } from '../../stack/operator-token';
import type { StackInfo } from '../../stack/stack-file';
import { runCli } from '../helpers/cli';

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'operator-token-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const mode = (file: string): number => statSync(file).mode & 0o777;
const read = (file: string): string => readFileSync(file, 'utf8').trim();

/** An environment without any token or tokens file of the person running the tests. */
function cleanEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, [ENV.stateDir]: dir };
  delete env[ENV.apiToken];
  delete env[ENV.tokensFile];
  return env;
}

test('the first start writes tokens.json and operator.token, both 0600, and the token authenticates the local operator', async () => {
  const dir = stateDir();
  const got = await ensureOperatorToken(dir);
  assert.deepEqual(got, { tokensFile: join(dir, LOCAL_TOKENS_FILE), tokenFile: join(dir, OPERATOR_TOKEN_FILE), identity: localOperator(), created: true });
  assert.equal(mode(got.tokensFile), 0o600);
  assert.equal(mode(got.tokenFile), 0o600);
  const token = read(got.tokenFile);
  assert.match(token, /^rbk_[A-Za-z0-9_-]{43}$/);
  const tokens = await loadTokensFile(got.tokensFile);
  assert.equal(identityForToken(tokens, token), localOperator());
  assert.doesNotThrow(() => JSON.parse(readFileSync(got.tokensFile, 'utf8')), 'tokens.json holds JSON');
  assert.ok(!readFileSync(got.tokensFile, 'utf8').includes(token), 'only the hash is in the tokens file');
});

test('later starts keep the same token and add no entry', async () => {
  const dir = stateDir();
  const first = await ensureOperatorToken(dir, 'alice');
  const token = read(first.tokenFile);
  const second = await ensureOperatorToken(dir, 'alice');
  assert.equal(second.created, false);
  assert.equal(read(second.tokenFile), token);
  assert.equal((await loadTokensFile(second.tokensFile)).tokens.length, 1);
});

test('a deleted operator.token gets a new one on the next start; a token whose hash is gone is replaced too', async () => {
  const dir = stateDir();
  const first = await ensureOperatorToken(dir, 'alice');
  const old = read(first.tokenFile);
  unlinkSync(first.tokenFile);
  const again = await ensureOperatorToken(dir, 'alice');
  assert.equal(again.created, true);
  const fresh = read(again.tokenFile);
  assert.notEqual(fresh, old);
  assert.equal(mode(again.tokenFile), 0o600);
  assert.equal(identityForToken(await loadTokensFile(again.tokensFile), fresh), 'alice');

  // Rotation's other half: the operator removed the entry from tokens.json.
  writeFileSync(again.tokensFile, '{ "tokens": [] }\n');
  const third = await ensureOperatorToken(dir, 'alice');
  assert.equal(third.created, true);
  assert.notEqual(read(third.tokenFile), fresh);
  assert.equal(identityForToken(await loadTokensFile(third.tokensFile), read(third.tokenFile)), 'alice');
});

test("a teammate's token created before the first start is kept, and a tokens file left open is narrowed to 0600", async () => {
  const dir = stateDir();
  const tokensFile = join(dir, LOCAL_TOKENS_FILE);
  const bob = await createToken(tokensFile, 'bob');
  writeFileSync(tokensFile, readFileSync(tokensFile), { mode: 0o644 });
  const got = await ensureOperatorToken(dir, 'alice');
  assert.equal(mode(tokensFile), 0o600);
  const tokens = await loadTokensFile(tokensFile);
  assert.equal(identityForToken(tokens, bob), 'bob');
  assert.equal(identityForToken(tokens, read(got.tokenFile)), 'alice');
});

test("an operator's own RUNBOOK_TOKENS_FILE is used as it is: nothing is written to it or to the state directory", async () => {
  const dir = stateDir();
  const own = join(stateDir(), 'team-tokens.yaml');
  await createToken(own, 'bob');
  const before = readFileSync(own, 'utf8');
  const config = loadConfig({ tokensFile: own }, {});
  const got = await withOperatorToken(config, dir);
  assert.equal(got.config, config);
  assert.equal(got.operator, undefined);
  assert.equal(readFileSync(own, 'utf8'), before);
  assert.equal(existsSync(join(dir, OPERATOR_TOKEN_FILE)), false);
  assert.equal(existsSync(join(dir, LOCAL_TOKENS_FILE)), false);

  const local = await withOperatorToken(loadConfig({}, {}), dir);
  assert.equal(local.config.tokensFile, join(dir, LOCAL_TOKENS_FILE));
});

test('the start-up line and the ready banner say where the token is, never the token', async () => {
  const dir = stateDir();
  const got = await ensureOperatorToken(dir, 'alice');
  const token = read(got.tokenFile);
  const line = operatorTokenLine(got);
  assert.match(line, new RegExp(`token of alice in ${got.tokenFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(!line.includes(token));
  const info: StackInfo = {
    supervisorPid: 1, ready: true, startedAt: '', stateDir: dir, namespace: 'runbooks', taskQueue: 'runbooks', temporalAddress: '127.0.0.1:7233',
    natsUrl: 'nats://127.0.0.1:4222', natsMonitorUrl: 'http://127.0.0.1:8222', intakeUrl: 'http://127.0.0.1:9110', workerUrl: 'http://127.0.0.1:9111',
    operatorTokenFile: got.tokenFile, ports: {}, components: {},
  };
  const banner = readyBanner(info);
  assert.ok(banner.includes(`Your token    ${got.tokenFile}`));
  assert.ok(!banner.includes(token));
});

test('the CLI takes --token-file first, then RUNBOOK_API_TOKEN, then the state directory operator.token', async () => {
  const dir = stateDir();
  const own = join(dir, 'mine.token');
  writeFileSync(own, 'from-file\n');
  writeFileSync(join(dir, OPERATOR_TOKEN_FILE), 'from-state-dir\n');
  assert.equal(apiToken({ stateDir: dir, apiToken: 'from-env' }, own).token, 'from-file');
  assert.equal(apiToken({ stateDir: dir, apiToken: 'from-env' }, undefined).token, 'from-env');
  assert.deepEqual(apiToken({ stateDir: dir }, undefined), { token: 'from-state-dir', source: join(dir, OPERATOR_TOKEN_FILE) });
  writeFileSync(join(dir, OPERATOR_TOKEN_FILE), '\n');
  assert.throws(() => apiToken({ stateDir: dir }, undefined), /operator token .*operator\.token is empty/);
  assert.throws(() => apiToken({ stateDir: dir }, join(dir, 'missing.token')), /cannot read --token-file .*missing\.token/);
});

test('with no token anywhere, the error names all three places', () => {
  const dir = stateDir();
  assert.throws(
    () => apiToken({ stateDir: dir }, undefined),
    (err: Error) => err.message.includes('--token-file') && err.message.includes(ENV.apiToken) && err.message.includes(join(dir, OPERATOR_TOKEN_FILE)),
  );
});

test('runbook approve, reject and decide fall back to the state directory token and say where they looked', async () => {
  const dir = stateDir();
  for (const args of [['approve', 'app/primary'], ['reject', 'app/primary'], ['decide', 'app/primary', '--action', 'skip']]) {
    const run = await runCli([...args, '--reason', 'test'], cleanEnv(dir));
    assert.equal(run.code, 2, run.stderr);
    assert.ok(run.stderr.includes(`runbook up, which writes ${join(dir, OPERATOR_TOKEN_FILE)}`), run.stderr);
    assert.ok(run.stderr.includes(ENV.apiToken) && run.stderr.includes('--token-file'), run.stderr);
  }
});

test('runbook token create without a tokens file writes to the state directory tokens.json the local API reads', async () => {
  const dir = stateDir();
  const run = await runCli(['token', 'create', '--identity', 'bob'], cleanEnv(dir));
  assert.equal(run.code, 0, run.stderr);
  const file = join(dir, LOCAL_TOKENS_FILE);
  assert.ok(run.stderr.includes(`stored as a sha256 hash in ${file}`), run.stderr);
  assert.equal(identityForToken(await loadTokensFile(file), run.stdout.trim()), 'bob');
  assert.equal(mode(file), 0o600);
  // The next start keeps bob's token beside the operator's.
  const got = await ensureOperatorToken(dir, 'alice');
  const tokens = await loadTokensFile(file);
  assert.equal(identityForToken(tokens, run.stdout.trim()), 'bob');
  assert.equal(identityForToken(tokens, read(got.tokenFile)), 'alice');
});
