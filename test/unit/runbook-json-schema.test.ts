import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { loadRunbookText } from '../../engine/load-runbook';
import { RUNBOOK_SCHEMA_PATH, renderRunbookJsonSchema } from '../../scripts/gen-json-schemas';

const ROOT = path.resolve(__dirname, '..', '..');
const SCHEMA_FILE = path.join(ROOT, RUNBOOK_SCHEMA_PATH);

/** The runbooks we ship as examples: each names the schema in a modeline. */
const SHIPPED_DIRS = ['runbooks', 'demo', path.join('test', 'fixtures', 'runbooks', 'valid')];
const shipped = SHIPPED_DIRS.flatMap((dir) =>
  readdirSync(path.join(ROOT, dir))
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n)),
);

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
}

describe('published runbook JSON Schema', () => {
  test('the committed file is exactly what the generator produces now', () => {
    assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderRunbookJsonSchema(), 'run: node --import tsx scripts/gen-json-schemas.ts');
  });

  test('there are shipped runbooks to check', () => {
    assert.ok(shipped.length >= 3, shipped.join(', '));
  });

  for (const file of shipped) {
    test(`${file} names the schema on line 1 and is valid against it`, () => {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      const modeline = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
      assert.ok(modeline?.[1], 'line 1 is the yaml-language-server modeline');
      assert.equal(path.resolve(ROOT, path.dirname(file), modeline[1]), SCHEMA_FILE);
      const validate = validator();
      assert.equal(validate(parse(text)), true, JSON.stringify(validate.errors, null, 2));
    });
  }

  test('the schema refuses what the loader refuses for its shape', () => {
    const validate = validator();
    const base = { name: 'x', version: 1, match: { kinds: ['node_down'] }, steps: [{ id: 'a', action: { kind: 'wait', duration: '1s' } }] };
    assert.equal(validate(base), true, JSON.stringify(validate.errors));
    const bad = [
      { ...base, steps: [{ id: 'a', action: { kind: 'reboot' } }] },
      { ...base, steps: [{ id: 'a', action: { kind: 'wait', duration: 5 } }] },
      { ...base, colour: 'red' },
      { ...base, steps: [{ id: 'a', action: { kind: 'command', argv: 'rm -rf /' } }] },
    ];
    for (const runbook of bad) {
      assert.equal(validate(runbook), false, JSON.stringify(runbook));
      assert.equal(loadRunbookText(JSON.stringify(runbook), 'x.yaml').ok, false);
    }
  });

  test('a modeline on line 1 leaves reported line numbers pointing at the field', () => {
    const body = 'name: x\nversion: 1\nmatch: { kinds: [node_down] }\nsteps:\n  - id: a\n    action: { kind: wait, duration: 10 seconds }\n';
    const plain = loadRunbookText(body, 'x.yaml');
    const withModeline = loadRunbookText(`# yaml-language-server: $schema=../docs/schemas/runbook.schema.json\n${body}`, 'x.yaml');
    assert.equal(plain.ok || withModeline.ok, false);
    if (plain.ok || withModeline.ok) return;
    assert.equal(plain.errors[0]?.line, 6);
    assert.equal(withModeline.errors[0]?.line, 7);
  });
});
