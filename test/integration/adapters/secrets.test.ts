import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvalidSpecError, SecretUnavailableError } from '../../../activities/adapters/errors';
import type { SecretRef } from '../../../schemas/secret-ref';
import { redactSecrets, resolveSecret, resolveSecrets } from '../../../activities/adapters/secrets';

describe('secret references', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'secrets-adapter-'));
    await writeFile(path.join(dir, 'token'), 'tok-123\r\n');
    await writeFile(path.join(dir, 'empty'), '\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('resolves env and file references, dropping one trailing newline from files', async () => {
    const values = await resolveSecrets(
      { A: { env: 'FROM_ENV' }, B: { file: path.join(dir, 'token') } },
      { env: { FROM_ENV: 'env-value' } },
    );
    assert.deepEqual(values, { A: 'env-value', B: 'tok-123' });
  });

  test('missing, empty or unreadable secrets are SecretUnavailable, malformed references InvalidSpec', async () => {
    const source = { env: { EMPTY: '' } };
    await assert.rejects(resolveSecret({ env: 'NOT_SET' }, source), SecretUnavailableError);
    await assert.rejects(resolveSecret({ env: 'EMPTY' }, source), SecretUnavailableError);
    await assert.rejects(resolveSecret({ file: path.join(dir, 'empty') }, source), SecretUnavailableError);
    await assert.rejects(resolveSecret({ file: path.join(dir, 'absent') }, source), SecretUnavailableError);
    for (const ref of [{ file: 'relative/path' }, { env: 'BAD-NAME' }, { env: 'A', file: '/x' }]) {
      await assert.rejects(resolveSecret(ref as SecretRef, source), InvalidSpecError);
    }
  });

  test('redaction hides every occurrence, and the longer of overlapping secrets whole', () => {
    assert.equal(redactSecrets('a=pw b=pw c=pw-long', ['pw', 'pw-long']), 'a=*** b=*** c=***');
    assert.equal(redactSecrets('nothing here', ['pw']), 'nothing here');
    assert.equal(redactSecrets('keep', []), 'keep');
  });

  test('redaction with a cut hides a secret that starts before the cut rather than revealing its prefix', () => {
    assert.equal(redactSecrets('12345topsecret789', ['topsecret'], 7), '12345***');
    assert.equal(redactSecrets('12345topsecret789', ['topsecret'], 5), '12345');
    assert.equal(redactSecrets('123456789', ['topsecret'], 4), '1234');
  });
});
