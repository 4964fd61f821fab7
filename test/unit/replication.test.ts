import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { replicaCopyArgv } from '../../activities/adapters/replica-copy';
import { parseReplicationFile } from '../../config/replication';
import { lagVerdict, replicationLagSeconds } from '../../engine/replication-lag';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('replication lag', () => {
  test('lag counts from the start of the newest successful copy', () => {
    assert.equal(replicationLagSeconds({ watchStartedAt: T0, lastSuccessStartedAt: T0 + 10_000 }, T0 + 12_500), 2.5);
  });

  test('before the first successful copy it counts from the start of the watch', () => {
    assert.equal(replicationLagSeconds({ watchStartedAt: T0 }, T0 + 90_000), 90);
  });

  test('a clock that stepped back gives zero, never a negative lag', () => {
    assert.equal(replicationLagSeconds({ watchStartedAt: T0, lastSuccessStartedAt: T0 + 5_000 }, T0), 0);
  });

  test('passing the bound fires once, and getting back within it resolves', () => {
    assert.equal(lagVerdict({ lagSeconds: 61, maxLagSeconds: 60, fence: 'open', state: 'ok' }), 'fire');
    assert.equal(lagVerdict({ lagSeconds: 61, maxLagSeconds: 60, fence: 'open', state: 'lagging' }), 'none');
    assert.equal(lagVerdict({ lagSeconds: 60, maxLagSeconds: 60, fence: 'open', state: 'lagging' }), 'resolve');
    assert.equal(lagVerdict({ lagSeconds: 3, maxLagSeconds: 60, fence: 'open', state: 'ok' }), 'none');
  });

  test('a fenced pair publishes nothing: the replica may be serving and the failover runbook owns it', () => {
    assert.equal(lagVerdict({ lagSeconds: 600, maxLagSeconds: 60, fence: 'fenced', state: 'ok' }), 'none');
    assert.equal(lagVerdict({ lagSeconds: 1, maxLagSeconds: 60, fence: 'fenced', state: 'lagging' }), 'none');
  });

  test('an unreadable fence holds copies back but its lag still raises the fault', () => {
    assert.equal(lagVerdict({ lagSeconds: 61, maxLagSeconds: 60, fence: 'unknown', state: 'ok' }), 'fire');
  });
});

describe('replication file', () => {
  test('a pair names source, replica, fault target and fence, with interval and bound defaulted', () => {
    const text = [
      'app-data:',
      '  source: /var/lib/app/primary',
      '  replica: /var/lib/app/standby',
      '  service: app',
      '  target: standby',
      '  fence:',
      '    haproxy: { socket: /run/haproxy/admin.sock, backend: app, server: primary }',
      '',
    ].join('\n');
    const pair = parseReplicationFile(text, 'replication.yaml')['app-data'];
    assert.equal(pair?.interval, '5s');
    assert.equal(pair?.max_lag, '1m');
    assert.equal(pair?.checksum, false);
    assert.equal(pair?.fence?.haproxy.server, 'primary');
  });

  test('a bad replication file is refused with file, line and field', () => {
    const text = [
      'app-data:',
      '  source: var/lib/app',
      '  replica: /var/lib/app/standby',
      '  service: app',
      '  target: standby',
      '  interval: often',
      '  fence:',
      '    haproxy: { socket: admin.sock, backend: app, server: primary }',
      '  lag: 1m',
      '',
    ].join('\n');
    assert.throws(
      () => parseReplicationFile(text, 'replication.yaml'),
      (err: Error) => {
        assert.match(err.message, /replication\.yaml:2: app-data\.source: must be an absolute local path/);
        assert.match(err.message, /replication\.yaml:6: app-data\.interval: must be a duration/);
        assert.match(err.message, /replication\.yaml:8: app-data\.fence\.haproxy\.socket: must be an absolute socket path/);
        assert.match(err.message, /replication\.yaml:9: app-data\.lag: unknown field/);
        return true;
      },
    );
  });

  test('a replica that is its own source is refused', () => {
    const text = 'app-data:\n  source: /data/app/\n  replica: /data/app\n  service: app\n  target: standby\n';
    assert.throws(() => parseReplicationFile(text, 'replication.yaml'), /app-data\.replica: must differ from source/);
  });
});

test('a copy renames changed files into place together and deletes last, copying contents of source into replica', () => {
  const argv = replicaCopyArgv({ source: '/data/a', replica: '/data/b/', checksum: true, timeoutMs: 30_000 });
  assert.deepEqual(argv, ['/usr/bin/rsync', '--archive', '--delete-delay', '--delay-updates', '--checksum', '--stats', '--timeout=30', '--', '/data/a/', '/data/b/']);
});
