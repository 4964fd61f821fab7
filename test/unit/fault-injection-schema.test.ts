import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Action, ACTION_KINDS, requiresApproval } from '../../schemas/runbook';

function refusal(input: unknown): { paths: string[]; messages: string[] } {
  const r = Action.safeParse(input);
  assert.equal(r.success, false, `expected ${JSON.stringify(input)} to be refused`);
  return { paths: r.error?.issues.map((i) => i.path.join('.')) ?? [], messages: r.error?.issues.map((i) => i.message) ?? [] };
}

describe('fault-injection actions in the runbook schema', () => {
  test('delete_data refuses /, system directories and relative paths, naming the path field', () => {
    for (const [p, message] of [
      ['/', /system directory/],
      ['/etc', /system directory/],
      ['/etc/', /system directory/],
      ['/var', /system directory/],
      ['data/primary', /absolute local path/],
      ['./data', /absolute local path/],
      ['', /must not be empty/],
    ] as const) {
      const r = refusal({ kind: 'delete_data', path: p });
      assert.deepEqual([...new Set(r.paths)], ['path'], p);
      assert.match(r.messages.join('; '), message, p);
    }
  });

  test("delete_data accepts a data directory, a system directory's subdirectory, and a template", () => {
    for (const p of ['/var/lib/model/primary', '/srv/data/', '{{ params.primary_data_dir }}']) assert.equal(Action.safeParse({ kind: 'delete_data', path: p }).success, true, p);
  });

  test('block_port takes only an iptables executable, and a port in range', () => {
    assert.deepEqual(refusal({ kind: 'block_port', port: 80, iptables: '/bin/sh' }).paths, ['iptables']);
    assert.deepEqual(refusal({ kind: 'block_port', port: 80, iptables: 'relative/iptables' }).paths, ['iptables']);
    assert.deepEqual(refusal({ kind: 'block_port', port: 0 }).paths, ['port']);
    assert.deepEqual(refusal({ kind: 'unblock_port', port: 65_536 }).paths, ['port']);
    assert.deepEqual(Action.parse({ kind: 'block_port', port: 80 }), { kind: 'block_port', port: 80, protocol: 'tcp', iptables: 'iptables' });
    assert.equal(Action.safeParse({ kind: 'block_port', port: 80, iptables: '/tmp/x/ip6tables-legacy' }).success, true);
  });

  test('kill_process defaults to SIGKILL and refuses other signals', () => {
    assert.deepEqual(Action.parse({ kind: 'kill_process', supervisor: { service: 'web' } }), { kind: 'kill_process', supervisor: { service: 'web' }, signal: 'SIGKILL' });
    assert.deepEqual(refusal({ kind: 'kill_process', supervisor: { service: 'web' }, signal: 'SIGHUP' }).paths, ['signal']);
  });

  test('injecting a fault needs approval by default; removing a port block does not', () => {
    for (const a of [{ kind: 'kill_process', supervisor: { service: 'web' } }, { kind: 'block_port', port: 80 }, { kind: 'delete_data', path: '/srv/data' }]) {
      assert.equal(requiresApproval({ action: Action.parse(a) }), true, a.kind);
    }
    assert.equal(requiresApproval({ action: Action.parse({ kind: 'unblock_port', port: 80 }) }), false);
  });
});

test('every action kind is documented in the actions table of docs/runbooks.md', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'runbooks.md'), 'utf8');
  const rows = doc.split('\n').filter((line) => line.startsWith('| `'));
  for (const kind of ACTION_KINDS) {
    assert.ok(rows.some((row) => (row.split('|')[1] ?? '').includes(`\`${kind}\``)), `docs/runbooks.md has a table row for ${kind}`);
  }
});
