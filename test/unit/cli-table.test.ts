import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatTable } from '../../cli/table';

describe('CLI tables', () => {
  test('columns line up two spaces apart and the last column is left whole', () => {
    const out = formatTable(['ID', 'NAME', 'NOTE'], [['1', 'alpha', 'a long free-text note'], ['22', 'b', '']]);
    assert.equal(out, 'ID  NAME   NOTE\n1   alpha  a long free-text note\n22  b\n');
  });

  test('a column wider than its limit is cut with an ellipsis', () => {
    const out = formatTable(['K', 'V'], [['abcdefgh', 'x']], { maxWidths: [5] });
    assert.equal(out, 'K      V\nabcd…  x\n');
  });
});

describe('CLI tables of event data', () => {
  test('control characters and bidi overrides in cells are printed as escapes, and columns still line up', () => {
    const out = formatTable(['A', 'B', 'C'], [['\x1b]0;pwned\x07', '\u202eab', 'x\x1b[2J\ny']]);
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.equal(out, 'A                 B         C\n\\x1b]0;pwned\\x07  \\u202eab  x\\x1b[2J\\ny\n');
  });
});
