import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderIncident } from '../../cli/commands/show';
import { terminalJson, terminalStrings, terminalText } from '../../observability/terminal-text';
import { FaultEvent } from '../../schemas/fault-event';

/** Characters that must never reach a terminal raw from event data. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/u;

describe('terminal text', () => {
  test('escape sequences, BEL, backspace and CR become visible escapes', () => {
    assert.equal(terminalText('\x1b]0;pwned\x07title'), '\\x1b]0;pwned\\x07title');
    assert.equal(terminalText('\x1b[2Jcleared'), '\\x1b[2Jcleared');
    assert.equal(terminalText('ok\bX\rY'), 'ok\\x08X\\x0dY');
    assert.equal(terminalText('nul\0del\x7fcsi\u009b'), 'nul\\x00del\\x7fcsi\\x9b');
  });

  test('bidi overrides and zero-width characters become visible escapes', () => {
    assert.equal(terminalText('evil\u202etxt.exe'), 'evil\\u202etxt.exe');
    const sneaky = '\u200b\u200c\u200d\u200e\u200f\u2066\u2067\u2068\u2069\u202a\ufeff\u2028';
    assert.equal(terminalText(sneaky), '\\u200b\\u200c\\u200d\\u200e\\u200f\\u2066\\u2067\\u2068\\u2069\\u202a\\ufeff\\u2028');
  });

  test('a single line escapes newline and tab; multi-line text keeps them', () => {
    assert.equal(terminalText('a\nb\tc'), 'a\\nb\\tc');
    assert.equal(terminalText('a\nb\tc\x1b', { multiline: true }), 'a\nb\tc\\x1b');
    assert.equal(terminalText('a\r\nb', { multiline: true }), 'a\\x0d\nb');
  });

  test('ordinary text, including non-ASCII letters and emoji, is unchanged', () => {
    for (const plain of ['web-2', 'zürich café', 'Ωmega 漢字', 'ok 👍', 'path\\with\\backslash']) {
      assert.equal(terminalText(plain), plain);
    }
  });

  test('every string in a structure is escaped, keys included, without changing its shape', () => {
    const escaped = terminalStrings({ a: ['x\x1b[31m', 3, null], 'k\u202e': { b: true, c: 'line\nbreak' } });
    assert.deepEqual(escaped, { a: ['x\\x1b[31m', 3, null], 'k\\u202e': { b: true, c: 'line\\nbreak' } });
  });

  test('JSON output escapes what JSON.stringify leaves raw and still parses to the same value', () => {
    const value = { title: '\u202eevil\u200b', csi: '\u009b2J', del: '\x7f', esc: '\x1b[2J', line: '\u2028' };
    const text = terminalJson(value);
    assert.doesNotMatch(text, RAW);
    assert.match(text, /\\u202e/);
    assert.deepEqual(JSON.parse(text), value);
    assert.deepEqual(JSON.parse(terminalJson(value, 2)), value);
  });
});

describe('runbook show, rendered from data', () => {
  test('an error carrying escape sequences and a newline is shown escaped, on its own line', () => {
    const fault = FaultEvent.parse({ id: 'e1', source: 's', service: 'web', target: 'web-2', kind: 'node_down', severity: 'warning', observedAt: '2024-05-01T12:00:00Z' });
    const text = renderIncident({
      incidentId: 'incident/web/web-2', service: 'web', target: 'web-2', kind: 'node_down', status: 'failed', dryRun: false,
      openedAt: '2024-05-01T12:00:00Z', epoch: 0, steps: [], compensations: [], firstFault: fault,
      faults: { count: 1, firstEventId: 'e1', lastEventId: 'e1', firstSeen: 'a', lastSeen: 'b', severity: 'warning', recentEventIds: ['e1'], resolvedSignals: 0 },
      lastError: 'boom\x1b[2J\nfake line\u202e',
      requests: [],
    });
    assert.doesNotMatch(text, RAW);
    assert.match(text, /last error boom\\x1b\[2J\\nfake line\\u202e/);
    assert.ok(!text.split('\n').some((line) => line.startsWith('fake line')));
  });
});
