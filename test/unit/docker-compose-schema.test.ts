import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../stack/toolchain';

/**
 * docker-compose.yml against the Compose Specification's JSON Schema, as the
 * dclint package ships it (a pinned devDependency), so a misspelt key or a
 * value of the wrong shape fails here rather than on a user's host.
 */
function composeSchemaValidator(): ReturnType<Ajv['compile']> {
  let dir: string;
  try {
    dir = dirname(require.resolve('dclint/package.json'));
  } catch (err) {
    throw new Error('the devDependency dclint, which ships the Compose Specification schema, is not installed: run npm install', { cause: err });
  }
  const schema = JSON.parse(readFileSync(join(dir, 'schemas', 'compose.schema.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(schema['title'], 'Compose Specification');
  // The schema names its draft-07 meta-schema by a URL ajv does not carry; its own keywords are draft-07.
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  return ajv.compile(schema);
}

const readCompose = (): unknown => parse(readFileSync(join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true });

test('docker-compose.yml is valid under the Compose Specification schema', () => {
  const validate = composeSchemaValidator();
  const ok = validate(readCompose());
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
});

test('the schema check rejects what Compose would reject: an unknown service key and a depends_on of the wrong shape', () => {
  const validate = composeSchemaValidator();
  const doc = readCompose() as { services: Record<string, Record<string, unknown>> };
  const misspelt = structuredClone(doc);
  const api = misspelt.services['api'];
  assert.ok(api);
  api['enviroment'] = api['environment'];
  assert.equal(validate(misspelt), false);
  assert.ok(validate.errors?.some((e) => e.keyword === 'additionalProperties' && (e.params as { additionalProperty?: string }).additionalProperty === 'enviroment'));
  const wrongDepends = structuredClone(doc);
  const worker = wrongDepends.services['worker-1'];
  assert.ok(worker);
  worker['depends_on'] = 'nats-provision';
  assert.equal(validate(wrongDepends), false, 'depends_on must be a list or a map');
});
