import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCommand } from '../../../activities/adapters/command';
import {
  CommandFailedError,
  InvalidSpecError,
  NotAllowedError,
  SecretUnavailableError,
  TimeoutError,
} from '../../../activities/adapters/errors';
import { waitFor } from '../../../stack/wait-for';
import { alive } from '../../helpers/processes';

const node = process.execPath;
const base = { allowList: [node], timeoutMs: 10_000, maxOutputBytes: 4096, dryRun: false };

describe('runCommand runs allow-listed programs without a shell', () => {
  let dir: string;
  let secretFile: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'command-adapter-'));
    secretFile = path.join(dir, 'db-password');
    await writeFile(secretFile, 'file-secret-9f8e7d\n');
    await chmod(secretFile, 0o600);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('runs the program with its arguments as given, shell characters included', async () => {
    const result = await runCommand({ ...base, argv: [node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$(id); echo hi', '*'] });
    assert.equal(result.dryRun, false);
    assert.deepEqual(JSON.parse(result.dryRun ? '' : result.stdout), ['$(id); echo hi', '*']);
  });

  test('a program outside the allow-list is refused, including a look-alike path', async () => {
    await assert.rejects(runCommand({ ...base, argv: ['/bin/sh', '-c', 'true'] }), NotAllowedError);
    await assert.rejects(runCommand({ ...base, allowList: ['node'], argv: [node, '-e', '0'] }), NotAllowedError);
    await assert.rejects(runCommand({ ...base, allowList: ['node'], argv: ['/tmp/evil/node', '-e', '0'] }), NotAllowedError);
    await assert.rejects(runCommand({ ...base, allowList: ['bin/node'], argv: ['bin/node'] }), InvalidSpecError);
  });

  test('a bare allow-list name runs the program found on the child PATH', async () => {
    const result = await runCommand({
      ...base,
      allowList: ['node'],
      argv: ['node', '-e', 'process.stdout.write("via PATH")'],
      env: { PATH: path.dirname(node) },
    });
    assert.equal(result.dryRun === false && result.stdout, 'via PATH');
  });

  test('a non-zero exit is CommandFailed with the exit code and the output', async () => {
    await assert.rejects(
      runCommand({ ...base, argv: [node, '-e', 'console.log("partial"); console.error("disk full"); process.exit(7)'] }),
      (err: unknown) => {
        assert.ok(err instanceof CommandFailedError);
        assert.equal(err.exitCode, 7);
        assert.equal(err.stdout, 'partial\n');
        assert.equal(err.stderr, 'disk full\n');
        assert.match(err.message, /exited 7: disk full/);
        return true;
      },
    );
  });

  test('a timeout kills the whole process group, grandchildren included', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const script = `
      const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(g.pid));
      setInterval(() => {}, 1000);
    `;
    const started = Date.now();
    await assert.rejects(runCommand({ ...base, argv: [node, '-e', script], timeoutMs: 1500 }), TimeoutError);
    assert.ok(Date.now() - started < 6000);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    await waitFor(`grandchild ${grandchild} to be gone`, 3000, () => !alive(grandchild), 20);
  });

  test('output beyond maxOutputBytes is cut and marked truncated', async () => {
    const result = await runCommand({ ...base, maxOutputBytes: 1000, argv: [node, '-e', 'process.stdout.write("x".repeat(200000))'] });
    assert.equal(result.dryRun, false);
    if (result.dryRun) return;
    assert.equal(result.stdout, 'x'.repeat(1000));
    assert.equal(result.stdoutTruncated, true);
    assert.equal(result.stderrTruncated, false);
  });

  test('secrets reach the child environment only, and are masked wherever they are printed', async () => {
    const secretSource = { env: { API_TOKEN_SOURCE: 'env-secret-1a2b3c' } };
    const printer = `
      console.log('token=' + process.env.TOKEN);
      console.error('password=' + process.env.DB_PASSWORD);
      console.log('argv=' + process.argv.slice(1).join(','));
    `;
    const result = await runCommand(
      {
        ...base,
        argv: [node, '-e', printer],
        secrets: { TOKEN: { env: 'API_TOKEN_SOURCE' }, DB_PASSWORD: { file: secretFile } },
      },
      { secretSource },
    );
    assert.equal(result.dryRun, false);
    if (result.dryRun) return;
    assert.equal(result.stdout, 'token=***\nargv=\n');
    assert.equal(result.stderr, 'password=***\n');
    assert.doesNotMatch(JSON.stringify(result), /env-secret-1a2b3c|file-secret-9f8e7d/);
  });

  test('a secret straddling the truncation point is not partly revealed', async () => {
    const secretSource = { env: { S: 'abcdefghij-secret' } };
    for (const pad of [990, 995, 999, 1000, 1005]) {
      const result = await runCommand(
        {
          ...base,
          maxOutputBytes: 1000,
          argv: [node, '-e', `process.stdout.write("y".repeat(${pad}) + process.env.T + "z".repeat(5000))`],
          secrets: { T: { env: 'S' } },
        },
        { secretSource },
      );
      const out = result.dryRun ? '' : result.stdout;
      assert.ok(!out.includes('abc'), `pad ${pad} leaked a prefix: ${out.slice(-20)}`);
    }
  });

  test('a secret value in argv or a missing secret is refused before anything runs', async () => {
    const secretSource = { env: { S: 'argv-secret-value' } };
    await assert.rejects(
      runCommand({ ...base, argv: [node, '-e', '0', 'argv-secret-value'], secrets: { T: { env: 'S' } } }, { secretSource }),
      NotAllowedError,
    );
    await assert.rejects(
      runCommand({ ...base, argv: [node, '-e', '0'], secrets: { T: { env: 'UNSET_VAR' } } }, { secretSource }),
      SecretUnavailableError,
    );
  });

  test('a dry-run names the program and secret sources but runs nothing', async () => {
    const marker = path.join(dir, 'dry-run-marker');
    const result = await runCommand(
      {
        ...base,
        dryRun: true,
        argv: [node, '-e', `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`],
        secrets: { TOKEN: { file: secretFile } },
      },
      {},
    );
    assert.equal(result.dryRun, true);
    assert.match(result.dryRun ? result.plan : '', /would run .*secrets TOKEN from file:/);
    assert.doesNotMatch(result.dryRun ? result.plan : '', /file-secret-9f8e7d/);
    await assert.rejects(stat(marker), { code: 'ENOENT' });
  });
});
