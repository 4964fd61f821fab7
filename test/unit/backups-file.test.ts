import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBackupsFile } from '../../config/backups';

test('a backups file names each repository with its fault target, bound and check interval', () => {
  const parsed = parseBackupsFile('app-data:\n  repository: /var/backups/app\n  service: app\n  target: app-backups\n  max_age: 2h\n', 'backups.yaml');
  assert.equal(parsed['app-data']?.repository, '/var/backups/app');
  assert.equal(parsed['app-data']?.check_every, '30s');
});

test('a bad backups file is refused with file, line and field', () => {
  const text = 'app-data:\n  repository: backups/app\n  service: app\n  target: app-backups\n  max_age: 2 days\n  keep: 3\n';
  assert.throws(
    () => parseBackupsFile(text, 'backups.yaml'),
    (err: Error) => {
      assert.match(err.message, /backups\.yaml:2: app-data\.repository: must be an absolute local path/);
      assert.match(err.message, /backups\.yaml:5: app-data\.max_age: must be a duration/);
      assert.match(err.message, /backups\.yaml:6: app-data\.keep: unknown field/);
      return true;
    },
  );
});
