import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_EVENT_BYTES } from '../../schemas/fault-event';
import { parseFaultEvent, type ParseResult } from '../../schemas/parse-fault-event';
import { assertNotPolluted, DEEP, HOSTILE_NAMES, nestedArrays, nestedObjects, PROTOTYPE_KEYS } from '../helpers/hostile-input';

/*
 * What a fault event published on NATS meets first: parseFaultEvent. Every
 * hostile body must come back as a refusal naming the field (that text is
 * the dead letter's Runbook-Error), never as a throw, a hang or an accepted
 * event carrying the hostile value.
 */

const encoder = new TextEncoder();
const valid = { id: 'hostile-1', source: 'hostile-test', service: 'checkout', target: 'node-1', kind: 'node_down', severity: 'warning', observedAt: '2024-05-01T12:00:00Z' };

/** The valid event's JSON with `extra` spliced in as raw JSON text before the closing brace. */
function withRaw(extra: string): Uint8Array {
  return encoder.encode(`${JSON.stringify(valid).slice(0, -1)},${extra}}`);
}

function refused(result: ParseResult): Extract<ParseResult, { ok: false }> {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  return result as Extract<ParseResult, { ok: false }>;
}

describe('malformed, truncated and mistyped fault events are refused naming the field', () => {
  const cases: { name: string; body: string; reason: string; error: RegExp }[] = [
    { name: 'an empty body', body: '', reason: 'not_json', error: /^\(root\): body is not JSON/ },
    { name: 'truncated JSON', body: JSON.stringify(valid).slice(0, 40), reason: 'not_json', error: /^\(root\): body is not JSON/ },
    { name: 'trailing garbage', body: `${JSON.stringify(valid)}}`, reason: 'not_json', error: /^\(root\): body is not JSON/ },
    { name: 'a JSON string', body: '"node_down"', reason: 'invalid', error: /^\(root\): expected a JSON object, got string/ },
    { name: 'a JSON array', body: '[1,2]', reason: 'invalid', error: /^\(root\): expected a JSON object, got array/ },
    { name: 'null', body: 'null', reason: 'invalid', error: /^\(root\): expected a JSON object, got null/ },
    { name: 'a numeric severity', body: JSON.stringify({ ...valid, severity: 5 }), reason: 'invalid', error: /severity: expected one of critical\|warning\|info/ },
    { name: 'an object target', body: JSON.stringify({ ...valid, target: { name: 'node-1' } }), reason: 'invalid', error: /target: expected string, got object/ },
    { name: 'a string dryRun', body: JSON.stringify({ ...valid, dryRun: 'yes' }), reason: 'invalid', error: /dryRun: expected boolean, got string/ },
    { name: 'labels as an array', body: JSON.stringify({ ...valid, labels: ['a'] }), reason: 'invalid', error: /labels: expected record, got array/ },
    { name: 'a numeric label value', body: JSON.stringify({ ...valid, labels: { zone: 3 } }), reason: 'invalid', error: /labels\.zone: expected string, got number/ },
    { name: 'a missing id and target', body: JSON.stringify({ ...valid, id: undefined, target: undefined }), reason: 'invalid', error: /id: is required.*target: is required/ },
  ];
  for (const c of cases) {
    test(`${c.name}`, () => {
      const result = refused(parseFaultEvent(encoder.encode(c.body)));
      assert.equal(result.reason, c.reason);
      assert.match(result.error, c.error);
    });
  }

  test('invalid UTF-8 is refused as not JSON rather than decoded into replacement characters', () => {
    const bytes = new Uint8Array([...encoder.encode('{"id":"'), 0xff, 0xfe, ...encoder.encode('"}')]);
    const result = refused(parseFaultEvent(bytes));
    assert.equal(result.reason, 'not_json');
    assert.match(result.error, /not valid UTF-8/);
  });
});

describe('oversized fault events are refused before parsing', () => {
  for (const [name, size] of [['1 MiB', 1024 * 1024], ['10 MiB', 10 * 1024 * 1024]] as const) {
    test(`a ${name} body is too_large, with its size and the limit in the error`, () => {
      const body = withRaw(`"annotations":{"blob":"${'x'.repeat(size)}"}`);
      const started = performance.now();
      const result = refused(parseFaultEvent(body));
      assert.equal(result.reason, 'too_large');
      assert.equal(result.error, `(root): body is ${body.byteLength} bytes; the limit is ${MAX_EVENT_BYTES}`);
      assert.ok(performance.now() - started < 1_000, 'refused by its size, not parsed first');
    });
  }
});

describe(`JSON nested ${DEEP} levels deep neither throws nor hangs`, () => {
  const cases: { name: string; body: Uint8Array; error: RegExp }[] = [
    { name: 'as the whole body', body: encoder.encode(nestedArrays(DEEP)), error: /^\(root\): expected a JSON object, got array$/ },
    { name: 'as a label value', body: withRaw(`"labels":{"zone":${nestedArrays(DEEP)}}`), error: /^labels\.zone: expected string, got array$/ },
    { name: 'as an unknown field', body: withRaw(`"extra":${nestedObjects(DEEP)}`), error: /^extra: is not an allowed field$/ },
    { name: 'as the target', body: withRaw(`"target":${nestedObjects(DEEP)}`).slice(), error: /target: expected string, got object/ },
    {
      name: 'inside a CloudEvents data attribute',
      body: encoder.encode(JSON.stringify({ specversion: '1.0', id: 'ce-1', source: 's', type: 't', data: { ...valid, extra: 0 } }).replace('"extra":0', `"extra":${nestedArrays(DEEP)}`)),
      error: /^data\.extra: is not an allowed field$/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.ok(c.body.byteLength <= MAX_EVENT_BYTES, 'under the size limit, so the parser really sees it');
      const result = refused(parseFaultEvent(c.body));
      assert.equal(result.reason, 'invalid');
      assert.match(result.error, c.error);
    });
  }
});

describe('hostile names in identifiers are refused naming the field', () => {
  for (const field of ['service', 'target', 'runbook'] as const) {
    for (const { what, value } of HOSTILE_NAMES) {
      test(`${field} with ${what}`, () => {
        const result = refused(parseFaultEvent(encoder.encode(JSON.stringify({ ...valid, [field]: value }))));
        assert.equal(result.reason, 'invalid');
        assert.deepEqual(result.issues.map((i) => i.path), [field]);
        assert.match(result.error, new RegExp(`^${field}: must be (a safe identifier|at most)`));
      });
    }
  }

  for (const value of ['node_down\n', 'node down', 'node.down', 'node\u200bdown', '$(reboot)', '../x']) {
    test(`kind ${JSON.stringify(value)}`, () => {
      const result = refused(parseFaultEvent(encoder.encode(JSON.stringify({ ...valid, kind: value }))));
      assert.deepEqual(result.issues.map((i) => i.path), ['kind']);
    });
  }

  for (const { what, value } of HOSTILE_NAMES.filter((n) => !n.value.startsWith('-') && !n.value.includes('/') && !n.value.includes('..'))) {
    test(`a label name with ${what}`, () => {
      const result = refused(parseFaultEvent(encoder.encode(JSON.stringify({ ...valid, labels: { [value]: 'x' } }))));
      assert.equal(result.issues.length, 1);
      assert.equal(result.issues[0]?.path, `labels.${value}`);
      assert.match(result.issues[0]?.message ?? '', /invalid key/);
    });
  }

  test('label and annotation values are data: hostile text is kept verbatim, never interpreted', () => {
    const hostile = 'a\u0000b\u200bc; rm -rf / $(x) `y` | z && ../../etc';
    const result = parseFaultEvent(encoder.encode(JSON.stringify({ ...valid, labels: { note: hostile }, annotations: { description: hostile } })));
    assert.ok(result.ok);
    assert.equal(result.event.labels.note, hostile);
    assert.equal(result.event.annotations.description, hostile);
  });
});

describe('__proto__, constructor and prototype keys never pollute and are kept or named', () => {
  for (const key of PROTOTYPE_KEYS) {
    test(`${key} at the top level is refused as an unknown field`, () => {
      const result = refused(parseFaultEvent(withRaw(`${JSON.stringify(key)}:{"polluted":"yes"}`)));
      assert.deepEqual(result.issues, [{ path: key, message: 'is not an allowed field' }]);
      assertNotPolluted();
    });

    test(`${key} as a label or annotation name is kept as an own key`, () => {
      const result = parseFaultEvent(withRaw(`"labels":{${JSON.stringify(key)}:"l"},"annotations":{${JSON.stringify(key)}:"a"}`));
      assert.ok(result.ok, JSON.stringify(result));
      assert.ok(Object.hasOwn(result.event.labels, key));
      assert.equal(Object.getOwnPropertyDescriptor(result.event.labels, key)?.value, 'l');
      assert.equal(Object.getOwnPropertyDescriptor(result.event.annotations, key)?.value, 'a');
      assert.equal(Object.getPrototypeOf(result.event.labels), Object.prototype, 'the map keeps its ordinary prototype');
      assert.match(JSON.stringify(result.event.labels), new RegExp(`"${key}":"l"`), 'and it reaches the workflow');
      assertNotPolluted();
    });

    test(`${key} holding an object inside labels is refused naming labels.${key}`, () => {
      const result = refused(parseFaultEvent(withRaw(`"labels":{${JSON.stringify(key)}:{"polluted":"yes"}}`)));
      assert.deepEqual(result.issues.map((i) => i.path), [`labels.${key}`]);
      assertNotPolluted();
    });

    test(`${key} inside CloudEvents data is refused naming data.${key}`, () => {
      const envelope = JSON.stringify({ specversion: '1.0', id: 'ce-2', source: 's', type: 't', data: { ...valid, marker: 0 } }).replace('"marker":0', `${JSON.stringify(key)}:{"polluted":"yes"}`);
      const result = refused(parseFaultEvent(encoder.encode(envelope)));
      assert.deepEqual(result.issues.map((i) => i.path), [`data.${key}`]);
      assertNotPolluted();
    });
  }
});
