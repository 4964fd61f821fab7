import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FaultEvent,
  MAX_ANNOTATION_VALUE_LENGTH,
  MAX_EVENT_BYTES,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  faultSubjectFor,
} from '../../schemas/fault-event';
import type { ParseResult } from '../../schemas/parse-fault-event';
import { formatIssues, parseFaultEvent, readableErrors } from '../../schemas/parse-fault-event';
import { SafeId, ServiceId, TargetId, incidentIdFor } from '../../schemas/identifiers';

const encoder = new TextEncoder();

function bytesOf(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function validFault(): Record<string, unknown> {
  return {
    id: 'evt-0001',
    source: 'probe://edge-1',
    service: 'web',
    target: 'web-2',
    kind: 'node_down',
    severity: 'critical',
    observedAt: '2024-05-01T12:00:00Z',
    labels: { zone: 'a' },
    annotations: { summary: 'web-2 stopped answering' },
  };
}

function expectFailure(result: ParseResult): Extract<ParseResult, { ok: false }> {
  if (result.ok) assert.fail(`expected a refusal, got ${JSON.stringify(result.event)}`);
  return result;
}

function expectEvent(result: ParseResult): Extract<ParseResult, { ok: true }> {
  if (!result.ok) assert.fail(`expected an event, got: ${result.error}`);
  return result;
}

describe('parseFaultEvent, plain form', () => {
  test('a complete plain event is accepted as given', () => {
    const result = expectEvent(parseFaultEvent(bytesOf({ ...validFault(), runbook: 'node-failover', dryRun: true })));
    assert.equal(result.format, 'plain');
    assert.equal(result.event.target, 'web-2');
    assert.equal(result.event.runbook, 'node-failover');
    assert.equal(result.event.dryRun, true);
    assert.deepEqual(result.event.labels, { zone: 'a' });
  });

  test('status defaults to firing and labels and annotations to empty maps', () => {
    const { labels: _labels, annotations: _annotations, ...minimal } = validFault();
    const result = expectEvent(parseFaultEvent(bytesOf(minimal)));
    assert.equal(result.event.status, 'firing');
    assert.deepEqual(result.event.labels, {});
    assert.deepEqual(result.event.annotations, {});
  });

  test('a date-time with a numeric offset is accepted and one without an offset is refused', () => {
    expectEvent(parseFaultEvent(bytesOf({ ...validFault(), observedAt: '2024-05-01T14:00:00.250+02:00' })));
    const result = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), observedAt: '2024-05-01T12:00:00' })));
    assert.deepEqual(result.issues.map((issue) => issue.path), ['observedAt']);
  });

  test('malformed JSON is refused as not_json', () => {
    const result = expectFailure(parseFaultEvent(encoder.encode('{"id": "x",')));
    assert.equal(result.reason, 'not_json');
    assert.match(result.error, /not JSON/);
  });

  test('bytes that are not UTF-8 are refused as not_json', () => {
    const result = expectFailure(parseFaultEvent(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])));
    assert.equal(result.reason, 'not_json');
    assert.match(result.error, /UTF-8/);
  });

  test('a JSON value that is not an object is refused as invalid', () => {
    for (const body of ['[]', '"fault"', '42', 'null']) {
      const result = expectFailure(parseFaultEvent(encoder.encode(body)));
      assert.equal(result.reason, 'invalid', body);
      assert.match(result.error, /expected a JSON object/);
    }
  });

  test('a field of the wrong type is named with what was expected', () => {
    const result = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), dryRun: 'yes' })));
    assert.equal(result.reason, 'invalid');
    assert.equal(result.error, 'dryRun: expected boolean, got string');
  });

  test('a missing field is named as required', () => {
    const { service: _service, ...rest } = validFault();
    const result = expectFailure(parseFaultEvent(bytesOf(rest)));
    assert.equal(result.error, 'service: is required');
  });

  test('an unknown top-level field is refused by name', () => {
    const result = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), dryrun: true, extra: 1 })));
    assert.deepEqual(
      result.issues.map((issue) => issue.path),
      ['dryrun', 'extra'],
    );
  });

  test('a body over the size limit is refused before it is parsed', () => {
    const oversized = new Uint8Array(MAX_EVENT_BYTES + 1).fill(0x20);
    const result = expectFailure(parseFaultEvent(oversized));
    assert.equal(result.reason, 'too_large');
    assert.match(result.error, new RegExp(`${MAX_EVENT_BYTES}`));
  });

  test('a body exactly at the size limit is parsed', () => {
    const annotations: Record<string, string> = {};
    const fault = { ...validFault(), annotations };
    for (let i = 0; bytesOf(fault).byteLength < MAX_EVENT_BYTES; i += 1) {
      annotations[`a${i}`] = '';
      const room = MAX_EVENT_BYTES - bytesOf(fault).byteLength;
      annotations[`a${i}`] = 'x'.repeat(Math.max(0, Math.min(room, MAX_ANNOTATION_VALUE_LENGTH)));
    }
    const body = bytesOf(fault);
    assert.equal(body.byteLength, MAX_EVENT_BYTES);
    expectEvent(parseFaultEvent(body));
  });

  for (const [name, target] of [
    ['a newline', 'web-2\nreboot'],
    ['a semicolon', 'web-2;reboot'],
    ['a command substitution', '$(reboot)'],
    ['a space', 'web 2'],
    ['a parent directory climb', '../etc'],
    ['a doubled dot inside', 'web..2'],
    ['a leading dash', '-web-2'],
    ['an empty string', ''],
    ['64 characters', 'a'.repeat(64)],
  ] as const) {
    test(`a target containing ${name} is refused with an error naming target`, () => {
      const result = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), target })));
      assert.equal(result.reason, 'invalid');
      assert.ok(result.issues.length > 0);
      assert.ok(result.issues.every((issue) => issue.path === 'target'), result.error);
      assert.match(result.error, /^target: /);
    });
  }

  test('every failing field is named when several are wrong', () => {
    const result = expectFailure(
      parseFaultEvent(
        bytesOf({
          ...validFault(),
          id: 'has space',
          target: 'a;b',
          severity: 'urgent',
          status: 'open',
          kind: 'node.down',
          labels: { 'bad key': 'x', ok: 7 },
        }),
      ),
    );
    const paths = result.issues.map((issue) => issue.path);
    assert.deepEqual(new Set(paths), new Set(['id', 'target', 'kind', 'severity', 'status', 'labels.bad key', 'labels.ok']));
    for (const path of paths) assert.ok(result.error.includes(`${path}: `), `${path} missing from ${result.error}`);
    assert.match(result.error, /severity: expected one of critical\|warning\|info/);
    assert.match(result.error, /status: expected one of firing\|resolved/);
  });

  test('labels are limited in number, value length and name shape', () => {
    const tooMany = Object.fromEntries(Array.from({ length: MAX_LABELS + 1 }, (_, i) => [`l${i}`, 'v']));
    const many = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), labels: tooMany })));
    assert.equal(many.error, `labels: must have at most ${MAX_LABELS} entries`);

    const exactly = Object.fromEntries(Array.from({ length: MAX_LABELS }, (_, i) => [`l${i}`, 'v']));
    expectEvent(parseFaultEvent(bytesOf({ ...validFault(), labels: exactly })));

    const long = expectFailure(
      parseFaultEvent(bytesOf({ ...validFault(), labels: { zone: 'x'.repeat(MAX_LABEL_VALUE_LENGTH + 1) } })),
    );
    assert.equal(long.error, `labels.zone: must be at most ${MAX_LABEL_VALUE_LENGTH} characters`);

    const longName = expectFailure(parseFaultEvent(bytesOf({ ...validFault(), labels: { ['k'.repeat(129)]: 'v' } })));
    assert.equal(longName.issues[0]?.path, `labels.${'k'.repeat(129)}`);
  });

  test('annotations allow longer values than labels but are still bounded', () => {
    const prose = 'x'.repeat(MAX_ANNOTATION_VALUE_LENGTH);
    expectEvent(parseFaultEvent(bytesOf({ ...validFault(), annotations: { description: prose } })));
    const result = expectFailure(
      parseFaultEvent(bytesOf({ ...validFault(), annotations: { description: `${prose}x` } })),
    );
    assert.deepEqual(result.issues.map((issue) => issue.path), ['annotations.description']);
  });
});

describe('parseFaultEvent, CloudEvents form', () => {
  function envelope(data: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      specversion: '1.0',
      id: 'ce-42',
      source: 'urn:probe:edge-1',
      type: 'dev.runbooks.fault',
      time: '2024-05-01T12:00:05Z',
      datacontenttype: 'application/json',
      data,
      ...extra,
    };
  }

  test('a structured-mode envelope is accepted and reported as cloudevents', () => {
    const result = expectEvent(parseFaultEvent(bytesOf(envelope(validFault()))));
    assert.equal(result.format, 'cloudevents');
    assert.equal(result.event.id, 'evt-0001');
    assert.equal(result.event.source, 'probe://edge-1');
    assert.equal(result.event.observedAt, '2024-05-01T12:00:00Z');
  });

  test('the envelope id, source and time fill in what the data leaves out', () => {
    const { id: _id, source: _source, observedAt: _observedAt, ...data } = validFault();
    const result = expectEvent(parseFaultEvent(bytesOf(envelope(data, { comexampleext: 'ignored' }))));
    assert.equal(result.event.id, 'ce-42');
    assert.equal(result.event.source, 'urn:probe:edge-1');
    assert.equal(result.event.observedAt, '2024-05-01T12:00:05Z');
  });

  test('errors inside data are reported under data, and filled-in fields under the envelope attribute', () => {
    const { id: _id, ...data } = validFault();
    const result = expectFailure(
      parseFaultEvent(bytesOf(envelope({ ...data, target: '$(reboot)' }, { id: 'not ok!' }))),
    );
    assert.deepEqual(new Set(result.issues.map((issue) => issue.path)), new Set(['id', 'data.target']));
  });

  test('an envelope with the wrong specversion or no data is refused naming each attribute', () => {
    const { data: _data, ...noData } = envelope(validFault(), { specversion: '0.3' });
    const result = expectFailure(parseFaultEvent(bytesOf(noData)));
    assert.deepEqual(new Set(result.issues.map((issue) => issue.path)), new Set(['specversion', 'data']));
  });

  test('base64 data and non-JSON content types are refused', () => {
    const binary = expectFailure(parseFaultEvent(bytesOf({ ...envelope(validFault()), data_base64: 'e30=' })));
    assert.ok(binary.issues.some((issue) => issue.path === 'data_base64'), binary.error);
    const xml = expectFailure(parseFaultEvent(bytesOf(envelope(validFault(), { datacontenttype: 'application/xml' }))));
    assert.deepEqual(xml.issues.map((issue) => issue.path), ['datacontenttype']);
    expectEvent(parseFaultEvent(bytesOf(envelope(validFault(), { datacontenttype: 'application/cloudevents+json; charset=utf-8' }))));
  });

  test('unknown fields inside data are refused by their data path', () => {
    const result = expectFailure(parseFaultEvent(bytesOf(envelope({ ...validFault(), colour: 'red' }))));
    assert.deepEqual(result.issues.map((issue) => issue.path), ['data.colour']);
  });
});

describe('identifiers', () => {
  test('the safe identifier accepts host-like names and refuses anything that could escape', () => {
    for (const ok of ['web-2', 'db_1', 'node.example', 'A', '10.0.0.1_9100', 'a'.repeat(63)]) {
      assert.ok(SafeId.safeParse(ok).success, ok);
    }
    for (const bad of ['', '.hidden', '_x', 'a/b', 'a..b', 'a b', 'ä', 'a'.repeat(64)]) {
      assert.ok(!SafeId.safeParse(bad).success, bad);
    }
  });

  test('the incident id is derived from service and target alone', () => {
    const service = ServiceId.parse('web');
    const target = TargetId.parse('web-2');
    assert.equal(incidentIdFor(service, target), 'incident/web/web-2');
    assert.equal(incidentIdFor(service, target), incidentIdFor(ServiceId.parse('web'), TargetId.parse('web-2')));
  });

  test('the subject uses one token each for service and kind', () => {
    const event = FaultEvent.parse({ ...validFault(), service: 'api.v2' });
    assert.equal(faultSubjectFor(event), 'faults.api_v2.node_down');
  });

  test('formatIssues reports paths of any zod error in dotted form', () => {
    const parsed = FaultEvent.safeParse({ ...validFault(), labels: { zone: 5 } }, { error: readableErrors });
    assert.ok(!parsed.success);
    assert.deepEqual(formatIssues(parsed.error), [{ path: 'labels.zone', message: 'expected string, got number' }]);
  });
});

describe('label and annotation names that shadow Object.prototype', () => {
  /** JSON text, because an object literal's `__proto__` sets the prototype instead of a key. */
  function faultText(labelsJson: string, annotationsJson = '{}'): Uint8Array {
    const { labels: _labels, annotations: _annotations, ...rest } = validFault();
    const text = JSON.stringify(rest).replace(/}$/, `,"labels":${labelsJson},"annotations":${annotationsJson}}`);
    return encoder.encode(text);
  }

  test('constructor, __proto__ and hasOwnProperty are kept as own keys with their values', () => {
    const result = expectEvent(
      parseFaultEvent(faultText('{"constructor":"c","__proto__":"p","hasOwnProperty":"h","zone":"a"}', '{"__proto__":"pa"}')),
    );
    const { labels, annotations } = result.event;
    assert.deepEqual(Object.keys(labels).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'zone']);
    assert.equal(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value, 'p');
    assert.equal(Object.getPrototypeOf(labels), Object.prototype);
    assert.equal(labels['constructor'], 'c');
    assert.equal(labels['hasOwnProperty'], 'h');
    assert.equal(annotations['__proto__'], 'pa');
  });

  test('the kept keys survive a JSON round trip and a second parse', () => {
    const first = expectEvent(parseFaultEvent(faultText('{"__proto__":"p","constructor":"c"}'))).event;
    const bytes = encoder.encode(JSON.stringify(first));
    assert.match(new TextDecoder().decode(bytes), /"__proto__":"p"/);
    const second = expectEvent(parseFaultEvent(bytes)).event;
    assert.deepEqual(Object.entries(second.labels).sort(), [['__proto__', 'p'], ['constructor', 'c']]);
  });

  test('a bad value under __proto__ is reported at its own path with the usual message', () => {
    const failure = expectFailure(parseFaultEvent(faultText('{"__proto__":5}')));
    assert.deepEqual(failure.issues, [{ path: 'labels.__proto__', message: 'expected string, got number' }]);
  });
});
