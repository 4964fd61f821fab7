import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_HISTORY_DIR, wouldOverwrite } from '../../scripts/record-histories';

/*
 * Stored histories are the incidents in flight that a deployment must still
 * replay; once committed they never change. MANIFEST.sha256 (sha256sum format)
 * pins each one, so an edit, a re-recording or a deletion fails here.
 */

const MANIFEST = join(DEFAULT_HISTORY_DIR, 'MANIFEST.sha256');
const ADD = `add it with: (cd test/histories && sha256sum <new-file>.json >> MANIFEST.sha256)`;

function manifest(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(MANIFEST, 'utf8').split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    assert.ok(m?.[1] && m[2], `malformed manifest line: ${line}`);
    assert.ok(!entries.has(m[2]), `${m[2]} is listed twice`);
    entries.set(m[2], m[1]);
  }
  return entries;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(join(DEFAULT_HISTORY_DIR, file))).digest('hex');

test('every listed history still exists with the content it was committed with', () => {
  const listed = manifest();
  assert.ok(listed.size > 0, 'the manifest lists nothing');
  for (const [file, hash] of listed) {
    assert.ok(existsSync(join(DEFAULT_HISTORY_DIR, file)), `${file} was deleted; stored histories stay until their patch branch is removed (docs/testing.md)`);
    assert.equal(sha256(file), hash, `${file} changed; never edit or re-record a stored history, record a new one under a new patch prefix`);
  }
});

test('every stored history is in the manifest', () => {
  const listed = manifest();
  const unlisted = readdirSync(DEFAULT_HISTORY_DIR).filter((f) => /\.json(\.gz)?$/.test(f) && !listed.has(f));
  assert.deepEqual(unlisted, [], `histories missing from test/histories/MANIFEST.sha256; ${ADD}`);
});

test('the recorder refuses to write over stored histories', () => {
  assert.ok(wouldOverwrite(DEFAULT_HISTORY_DIR).includes('healed.json'));
  assert.deepEqual(wouldOverwrite('/tmp/some-scratch-dir'), []);
});
