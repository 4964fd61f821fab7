import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../stack/toolchain';

test('running setup again rebuilds nothing and says what it reused', () => {
  const res = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'setup.sh')], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(res.status, 0, res.stderr);
  assert.doesNotMatch(res.stdout, /building|installing/);
  assert.match(res.stdout, /reused temporal v1\.5\.1/);
  assert.match(res.stdout, /reused nats-server v2\.14\.9/);
  assert.match(res.stdout, /reused temporal-server v1\.32\.2 and temporal-sql-tool/);
  assert.match(res.stdout, /(reused|skipped) temporal-ui-server v2\.58\.1/);
  assert.match(res.stdout, /postgresql 15\.\d+/);
  assert.match(res.stdout, /reused node_modules/);
});

test('setup explains the fix when Node.js is too old', () => {
  const res = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'setup.sh')], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_MIN_VERSION_OVERRIDE: '99.0.0' },
  });
  assert.notEqual(res.status, 0);
  assert.match(res.stderr, /Node\.js .* is too old: need >= 99\.0\.0/);
});
