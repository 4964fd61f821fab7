import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch, selectRunbook, type RoutableFault, type RoutableRunbook } from '../../engine/routing';

function rb(name: string, match: Partial<RoutableRunbook['match']> & { kinds: string[] }): RoutableRunbook {
  return { name, match: { priority: 0, ...match } };
}

function fault(overrides: Partial<RoutableFault> = {}): RoutableFault {
  return { service: 'app', target: 'primary', kind: 'node_down', severity: 'critical', labels: {}, ...overrides };
}

describe('runbook routing', () => {
  test('picks a runbook whose kinds include the fault kind', () => {
    const runbooks = [rb('disk', { kinds: ['disk_full'] }), rb('failover', { kinds: ['node_down'] })];
    assert.equal(selectRunbook(runbooks, fault())?.name, 'failover');
  });

  test('returns undefined when nothing matches', () => {
    assert.equal(selectRunbook([rb('disk', { kinds: ['disk_full'] })], fault()), undefined);
    assert.equal(selectRunbook([], fault()), undefined);
  });

  test('filters by service, with * as a wildcard', () => {
    const runbooks = [rb('db', { kinds: ['node_down'], services: ['db-*'] })];
    assert.equal(selectRunbook(runbooks, fault({ service: 'db-main' }))?.name, 'db');
    assert.equal(selectRunbook(runbooks, fault({ service: 'app' })), undefined);
  });

  test('requires every label to be present with the same value', () => {
    const runbooks = [rb('primary', { kinds: ['node_down'], labels: { role: 'primary', zone: 'a' } })];
    assert.equal(selectRunbook(runbooks, fault({ labels: { role: 'primary', zone: 'a', extra: 'x' } }))?.name, 'primary');
    assert.equal(selectRunbook(runbooks, fault({ labels: { role: 'primary' } })), undefined);
    assert.equal(selectRunbook(runbooks, fault({ labels: { role: 'standby', zone: 'a' } })), undefined);
    assert.equal(selectRunbook(runbooks, fault({ labels: undefined })), undefined);
  });

  test('prefers the highest priority, then the name that sorts first', () => {
    const runbooks = [
      rb('zeta', { kinds: ['node_down'], priority: 5 }),
      rb('alpha', { kinds: ['node_down'], priority: 5 }),
      rb('low', { kinds: ['node_down'], priority: 1 }),
    ];
    assert.equal(selectRunbook(runbooks, fault())?.name, 'alpha');
    assert.equal(selectRunbook([...runbooks].reverse(), fault())?.name, 'alpha');
  });

  test('a hint wins when it names an existing runbook for the fault kind', () => {
    const runbooks = [
      rb('failover', { kinds: ['node_down'], priority: 10 }),
      rb('restart', { kinds: ['node_down'], services: ['other'] }),
      rb('disk', { kinds: ['disk_full'] }),
    ];
    assert.equal(selectRunbook(runbooks, fault({ runbook: 'restart' }))?.name, 'restart');
    assert.equal(selectRunbook(runbooks, fault({ runbook: 'disk' }))?.name, 'failover', 'wrong kind: hint ignored');
    assert.equal(selectRunbook(runbooks, fault({ runbook: 'missing' }))?.name, 'failover', 'unknown: hint ignored');
  });
});

describe('service globs', () => {
  test('match literally except for *', () => {
    assert.equal(globMatch('app', 'app'), true);
    assert.equal(globMatch('app', 'app2'), false);
    assert.equal(globMatch('*', ''), true);
    assert.equal(globMatch('a*c', 'abbc'), true);
    assert.equal(globMatch('a*b*c', 'abc'), true);
    assert.equal(globMatch('ab*ba', 'aba'), false);
    assert.equal(globMatch('*-db', 'main-db'), true);
    assert.equal(globMatch('a.b', 'axb'), false);
    assert.equal(globMatch('(x', '(x'), true);
  });
});
