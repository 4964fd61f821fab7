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
