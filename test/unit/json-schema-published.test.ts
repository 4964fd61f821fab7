import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FAULT_EVENT_SCHEMA_PATH, renderFaultEventJsonSchema } from '../../scripts/gen-json-schemas';
import { FaultEvent, FaultStatus, Severity } from '../../schemas/fault-event';

const root = path.resolve(__dirname, '..', '..');

interface JsonSchemaNode {
  type?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, JsonSchemaNode>;
  propertyNames?: JsonSchemaNode;
  additionalProperties?: boolean | JsonSchemaNode;
}

/**
 * Checks the subset of JSON Schema keywords the published schema uses,
 * returning the failing instance paths. Enough to show the document and the
 * zod schema agree on examples without a full validator.
 */
function violations(schema: JsonSchemaNode, value: unknown, at = ''): string[] {
  const here = at === '' ? '(root)' : at;
  const problems: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) return [here];
  if (schema.type === 'string') {
    if (typeof value !== 'string') return [here];
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength) problems.push(here);
    else if (schema.maxLength !== undefined && length > schema.maxLength) problems.push(here);
    else if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) problems.push(here);
    return problems;
  }
  if (schema.type === 'boolean') return typeof value === 'boolean' ? [] : [here];
  if (schema.type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [here];
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) problems.push(here);
    for (const name of schema.required ?? []) {
      if (!(name in record)) problems.push(at === '' ? name : `${at}.${name}`);
    }
    for (const key of keys) {
      const child = at === '' ? key : `${at}.${key}`;
      if (schema.propertyNames) problems.push(...violations(schema.propertyNames, key, child));
      const declared = schema.properties?.[key];
      if (declared) problems.push(...violations(declared, record[key], child));
      else if (schema.additionalProperties === false) problems.push(child);
      else if (typeof schema.additionalProperties === 'object') {
        problems.push(...violations(schema.additionalProperties, record[key], child));
      }
    }
  }
  return problems;
}

function published(): JsonSchemaNode & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(root, FAULT_EVENT_SCHEMA_PATH), 'utf8')) as JsonSchemaNode &
    Record<string, unknown>;
}

const valid = {
  id: 'evt-1',
  source: 'probe://edge-1',
  service: 'web',
  target: 'web-2',
  kind: 'node_down',
  severity: 'warning',
  observedAt: '2024-05-01T12:00:00+02:00',
};

describe('published fault event JSON Schema', () => {
  test('the committed file is exactly what the generator produces now', () => {
    const committed = readFileSync(path.join(root, FAULT_EVENT_SCHEMA_PATH), 'utf8');
    assert.equal(committed, renderFaultEventJsonSchema(), 'run: node --import tsx scripts/gen-json-schemas.ts');
  });

  test('it declares draft 2020-12, an $id and a description', () => {
    const schema = published();
    assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema['$id'], 'string');
    assert.equal(typeof schema['description'], 'string');
  });

  test('its required fields are the fault fields that have no default', () => {
    const shape = FaultEvent.shape;
    const expected = Object.keys(shape).filter((key) => {
      const field = shape[key as keyof typeof shape];
      return !field.safeParse(undefined).success;
    });
    assert.deepEqual([...(published().required ?? [])].sort(), expected.sort());
  });

  test('its enums match the zod enums', () => {
    const properties = published().properties ?? {};
    assert.deepEqual(properties['severity']?.enum, Severity.options);
    assert.deepEqual(properties['status']?.enum, FaultStatus.options);
    assert.equal(published().additionalProperties, false);
  });

  const examples: [string, Record<string, unknown>, string[]][] = [
    ['a minimal event', valid, []],
    ['a full event', { ...valid, status: 'resolved', labels: { zone: 'a' }, annotations: { summary: 's' }, runbook: 'node-failover', dryRun: false }, []],
    ['a target with a shell metacharacter', { ...valid, target: 'a;b' }, ['target']],
    ['a target climbing directories', { ...valid, target: '../etc' }, ['target']],
    ['an unknown severity', { ...valid, severity: 'urgent' }, ['severity']],
    ['an unknown field', { ...valid, colour: 'red' }, ['colour']],
    ['a missing kind', { ...valid, kind: undefined }, ['kind']],
    ['a bad label name', { ...valid, labels: { 'a b': 'x' } }, ['labels.a b']],
    ['too many labels', { ...valid, labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])) }, ['labels']],
    ['a date-time without offset', { ...valid, observedAt: '2024-05-01T12:00:00' }, ['observedAt']],
  ];
  for (const [name, example, failing] of examples) {
    test(`the schema and the zod parser agree on ${name}`, () => {
      const instance = JSON.parse(JSON.stringify(example)) as Record<string, unknown>;
      assert.deepEqual(violations(published(), instance), failing);
      assert.equal(FaultEvent.safeParse(instance).success, failing.length === 0);
    });
  }
});
