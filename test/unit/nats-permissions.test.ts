import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EFFECTS_BUCKET } from '../../activities/effect-ledger';
import { AUDIT_STREAM, AUDIT_SUBJECT_PREFIX } from '../../audit/audit-stream';
import { inboxPrefix, NATS_ROLES, natsPermissions, PERM_AUDIT_STREAM, PERM_AUDIT_SUBJECT, PERM_DEAD_LETTER_STREAM, PERM_DEAD_LETTER_SUBJECT, PERM_EFFECTS_BUCKET, PERM_FAULTS_STREAM, PERM_INTAKE_CONSUMERS, PERM_UNHANDLED_STREAM, PERM_UNHANDLED_SUBJECT, renderAuthorization } from '../../config/nats-permissions';
import { DEMO_CONSUMER } from '../../demo/engine';
import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT, FAULTS_STREAM, INTAKE_CONSUMER, UNHANDLED_STREAM, UNHANDLED_SUBJECT } from '../../intake/streams';
import { natsServerConfig } from '../../stack/nats-server';

test('the permission table names the streams, subjects and buckets their owners define', () => {
  assert.equal(PERM_FAULTS_STREAM, FAULTS_STREAM);
  assert.equal(PERM_DEAD_LETTER_STREAM, DEAD_LETTER_STREAM);
  assert.equal(PERM_DEAD_LETTER_SUBJECT, DEAD_LETTER_SUBJECT);
  assert.equal(PERM_UNHANDLED_STREAM, UNHANDLED_STREAM);
  assert.equal(PERM_UNHANDLED_SUBJECT, UNHANDLED_SUBJECT);
  assert.equal(PERM_AUDIT_STREAM, AUDIT_STREAM);
  assert.equal(PERM_AUDIT_SUBJECT, AUDIT_SUBJECT_PREFIX);
  assert.equal(PERM_EFFECTS_BUCKET, EFFECTS_BUCKET);
  assert.deepEqual(PERM_INTAKE_CONSUMERS, [INTAKE_CONSUMER, DEMO_CONSUMER]);
});

test('every role subscribes only to its own inbox, except admin, which is kept out of the others', () => {
  const table = natsPermissions();
  for (const role of NATS_ROLES.filter((r) => r !== 'admin')) assert.deepEqual(table[role].subscribe, { allow: [`${inboxPrefix(role)}.>`] });
  for (const role of NATS_ROLES.filter((r) => r !== 'admin')) assert.ok(table.admin.subscribe.deny?.includes(`${inboxPrefix(role)}.>`));
});

test('only admin may update, delete or purge streams, and only admin and the intake may create them', () => {
  const table = natsPermissions();
  for (const role of NATS_ROLES.filter((r) => r !== 'admin')) {
    const allow = table[role].publish.allow;
    assert.ok(!allow.includes('>'), role);
    for (const s of allow) assert.doesNotMatch(s, /STREAM\.(UPDATE|DELETE|PURGE)/, `${role}: ${s}`);
    if (role !== 'intake') for (const s of allow) assert.doesNotMatch(s, /STREAM\.CREATE|CONSUMER\.(DURABLE\.)?CREATE\.FAULTS/, `${role}: ${s}`);
  }
  assert.deepEqual(natsPermissions().producer.publish.allow, ['faults.>']);
});

test('the server config holds each role with its hash and permissions, and no password', () => {
  const users = NATS_ROLES.map((role) => ({ role, bcryptHash: `$2a$10$hash-of-${role}` }));
  const text = natsServerConfig({ stateDir: '/s', port: 4222, monitorPort: 8222, users, tls: { certFile: '/c.pem', keyFile: '/k.pem' } });
  assert.match(text, /authorization \{/);
  for (const role of NATS_ROLES) assert.match(text, new RegExp(`user: "${role}", password: "\\$2a\\$10\\$hash-of-${role}"`));
  assert.match(text, /publish: \{ allow: \["faults\.>"\] \}/);
  assert.match(text, /tls \{\n {2}cert_file: "\/c\.pem"\n {2}key_file: "\/k\.pem"\n\}/);
  assert.equal(renderAuthorization([]).includes('users = ['), true);
});

test('the api writes the pause key only, and of the dead letters may read and delete, never create or purge', () => {
  const allow = natsPermissions().api.publish.allow;
  assert.ok(allow.includes('$KV.runbook_control.paused'));
  assert.ok(!allow.some((s) => s.startsWith('$KV.') && s !== '$KV.runbook_control.paused'), 'no other KV key may be written');
  assert.ok(!allow.some((s) => s.includes(PERM_EFFECTS_BUCKET)), 'the effects ledger is the worker\'s');
  assert.deepEqual(allow.filter((s) => s.includes(PERM_DEAD_LETTER_STREAM)).sort(), [`$JS.API.STREAM.INFO.${PERM_DEAD_LETTER_STREAM}`, `$JS.API.STREAM.MSG.DELETE.${PERM_DEAD_LETTER_STREAM}`, `$JS.API.STREAM.MSG.GET.${PERM_DEAD_LETTER_STREAM}`]);
  assert.ok(!allow.some((s) => s.startsWith(`${PERM_DEAD_LETTER_SUBJECT}.`)), 'the api cannot forge dead letters');
});
