import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TemplateError, parseTemplate, resolveTemplate, templateReferences, type TemplateContext } from '../../engine/template';

function context(overrides: Partial<TemplateContext> = {}): TemplateContext {
  return {
    fault: { service: 'app', target: 'primary', kind: 'node_down', severity: 'critical', labels: { zone: 'a' } },
    params: { socket: '/run/haproxy.sock', port: 8080, enabled: true },
    steps: { confirm: { output: { confirmed: true, failures: 3, samples: [1, 2] } } },
    incident: { id: 'inc-1', epoch: 2 },
    ...overrides,
  };
}

describe('template resolution', () => {
  test('replaces references inside strings, deeply through objects and arrays', () => {
    const action = {
      kind: 'isolate',
      haproxy: { socket: '{{ params.socket }}', server: '{{fault.target}}', verify: true },
      notes: ['incident {{ incident.id }} epoch {{ incident.epoch }}', 'zone={{ fault.labels.zone }}'],
    };
    assert.deepEqual(resolveTemplate(action, context()), {
      kind: 'isolate',
      haproxy: { socket: '/run/haproxy.sock', server: 'primary', verify: true },
      notes: ['incident inc-1 epoch 2', 'zone=a'],
    });
  });

  test('does not change the input', () => {
    const argv = ['echo', '{{ fault.target }}'];
    resolveTemplate(argv, context());
    assert.deepEqual(argv, ['echo', '{{ fault.target }}']);
  });

  test('converts numbers, booleans and structured outputs to text', () => {
    assert.equal(resolveTemplate('{{ params.port }}/{{ params.enabled }}', context()), '8080/true');
    assert.equal(resolveTemplate('{{ steps.confirm.output.failures }}', context()), '3');
    assert.equal(resolveTemplate('{{ steps.confirm.output.samples }}', context()), '[1,2]');
    assert.equal(resolveTemplate('{{ steps.confirm.output.samples.1 }}', context()), '2');
  });

  test('a value with spaces, semicolons or quotes stays one argv element', () => {
    const hostile = 'x; rm -rf / "$(reboot)" \n --force';
    const argv = ['supervisorctl', 'restart', '{{ fault.target }}'];
    const resolved = resolveTemplate(argv, context({ fault: { target: hostile } }));
    assert.equal(resolved.length, 3);
    assert.equal(resolved[2], hostile);
  });

  test('substituted text is not scanned again for references', () => {
    const resolved = resolveTemplate(['{{ fault.target }}'], context({ fault: { target: '{{ params.socket }}' } }));
    assert.deepEqual(resolved, ['{{ params.socket }}']);
  });

  test('a missing reference throws a TemplateError naming it', () => {
    assert.throws(
      () => resolveTemplate({ argv: ['echo', '{{ steps.later.output.x }}'] }, context()),
      (err: unknown) => err instanceof TemplateError && err.name === 'TemplateError' && err.reference === 'steps.later.output.x',
    );
    assert.throws(() => resolveTemplate('{{ fault.nothing }}', context()), TemplateError);
    assert.throws(() => resolveTemplate('{{ fault.labels.region }}', context()), TemplateError);
  });

  test('inherited properties never resolve', () => {
    assert.throws(() => resolveTemplate('{{ fault.constructor }}', context()), TemplateError);
    assert.throws(() => resolveTemplate('{{ params.__proto__ }}', context()), TemplateError);
    assert.throws(() => resolveTemplate('{{ steps.confirm.output.samples.length }}', context()), TemplateError);
  });

  test('a null value is an error rather than the text "null"', () => {
    assert.throws(() => resolveTemplate('{{ fault.runbook }}', context({ fault: { runbook: null } })), TemplateError);
  });

  test('expressions, unknown roots and unterminated braces are rejected', () => {
    for (const bad of ['{{ fault.target | upper }}', '{{ process.env.HOME }}', '{{ fault.target', '{{ }}', '{{fault}}']) {
      assert.throws(() => parseTemplate(bad), TemplateError, bad);
    }
  });

  test('lists the references of a template string', () => {
    assert.deepEqual(templateReferences('http://{{ fault.target }}:{{params.port}}/x'), ['fault.target', 'params.port']);
    assert.deepEqual(templateReferences('no templates } here }}'), []);
  });

  test('leaves numbers, booleans and null untouched', () => {
    assert.deepEqual(resolveTemplate({ port: 80, on: false, none: null }, context()), { port: 80, on: false, none: null });
  });
});
