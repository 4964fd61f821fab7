import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigFileError, escalationOf, loadRosterFile, membersOf, parseConfigText, Roster } from '../../config/roster';
import { createToken, hashToken, identityForToken, loadTokensFile } from '../../config/tokens';

const dir = mkdtempSync(join(tmpdir(), 'roster-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `groups:
  oncall:
    members: [alice, bob]
    escalate_to: [leads]
  leads:
    members: [carol]
    escalate_to: [directors]
  directors:
    members: [dana, carol]
`;

describe('roster', () => {
  test('a valid roster lists members per group and each group\'s escalation chain', () => {
    const roster = parseConfigText(GOOD, 'roster.yaml', Roster);
    assert.deepEqual(membersOf(roster, ['oncall']), ['alice', 'bob']);
    assert.deepEqual(membersOf(roster, ['leads', 'directors']), ['carol', 'dana']);
    assert.deepEqual(membersOf(roster, ['nobody']), []);
    assert.deepEqual(escalationOf(roster, ['oncall']), ['leads']);
    assert.deepEqual(escalationOf(roster, ['leads']), ['directors']);
    assert.deepEqual(escalationOf(roster, ['directors']), []);
    assert.equal(roster.notify.subject, 'runbook.approvals');
    assert.deepEqual(roster.notify.webhooks, []);
  });

  test('an escalation to an unknown group is reported with file, line and field', () => {
    const text = GOOD.replace('escalate_to: [leads]', 'escalate_to: [leeds]');
    assert.throws(() => parseConfigText(text, 'roster.yaml', Roster), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.match(err.message, /^roster\.yaml:4: groups\.oncall\.escalate_to\[0\]: unknown group "leeds"$/);
      return true;
    });
  });

  test('a group without members, a bad identity and an unknown key are each reported on their own line', () => {
    const text = `groups:
  oncall:
    members: []
  leads:
    members: ["carol smith"]
    pager: 123
`;
    assert.throws(() => parseConfigText(text, 'r.yaml', Roster), (err: Error) => {
      const lines = err.message.split('\n');
      assert.equal(lines.length, 3, err.message);
      assert.match(lines.find((l) => l.includes('oncall')) ?? '', /^r\.yaml:3: groups\.oncall\.members: a group needs at least one member$/);
      assert.match(lines.find((l) => l.includes('members[0]')) ?? '', /^r\.yaml:5: groups\.leads\.members\[0\]: must be an identity/);
      assert.match(lines.find((l) => l.includes('pager')) ?? '', /^r\.yaml:4: groups\.leads: .*pager/);
      return true;
    });
  });

  test('a group that escalates to itself is refused', () => {
    assert.throws(() => parseConfigText('groups:\n  a: { members: [x], escalate_to: [a] }\n', 'r.yaml', Roster), /cannot escalate to itself/);
  });

  test('a missing roster file is an error that names the file', async () => {
    await assert.rejects(loadRosterFile(join(dir, 'absent.yaml')), /absent\.yaml: cannot read roster/);
  });
});

describe('tokens', () => {
  test('a created token authenticates its identity and only its hash is stored', async () => {
    const file = join(dir, 'tokens.yaml');
    const token = await createToken(file, 'alice');
    const other = await createToken(file, 'bob');
    const stored = await loadTokensFile(file);
    assert.deepEqual(stored.tokens.map((t) => t.identity), ['alice', 'bob']);
    assert.equal(stored.tokens[0]?.sha256, hashToken(token));
    const { readFileSync } = await import('node:fs');
    assert.ok(!readFileSync(file, 'utf8').includes(token), 'the token itself is never written');
    assert.equal(identityForToken(stored, token), 'alice');
    assert.equal(identityForToken(stored, other), 'bob');
    assert.equal(identityForToken(stored, `${token}x`), undefined);
  });

  test('a tokens file with a malformed hash is reported with its line', async () => {
    const file = join(dir, 'bad-tokens.yaml');
    writeFileSync(file, 'tokens:\n  - sha256: abc\n    identity: alice\n');
    await assert.rejects(loadTokensFile(file), /bad-tokens\.yaml:2: tokens\[0\]\.sha256: must be a sha256 hex digest/);
  });
});
