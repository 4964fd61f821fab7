import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../../config/config';
import { loadServicesFile, loadServicesFileIfPresent, parseServicesFile } from '../../config/services';
import { resolveService } from '../../activities/service-registry';
import { InvalidSpecError, TargetNotFoundError } from '../../activities/adapters/errors';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'activities');

async function loadError(file: string): Promise<string> {
  try {
    await loadServicesFile(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  return assert.fail('expected a ConfigError');
}

describe('services file', () => {
  test('entries load by name with relative paths taken from the file directory', async () => {
    const services = await loadServicesFile(path.join(FIXTURES, 'services.yaml'));
    assert.deepEqual(Object.keys(services).sort(), ['app-standby', 'worker']);
    const app = services['app-standby'];
    assert.equal(app?.name, 'app-standby');
    assert.equal(app?.cwd, path.join(FIXTURES, 'app'));
    assert.equal(app?.pidFile, path.join(FIXTURES, 'run', 'app-standby.pid'));
    assert.equal(app?.logFile, '/var/log/app/standby.log');
    assert.deepEqual(app?.health, { kind: 'http', url: 'http://127.0.0.1:8082/health', timeoutMs: 1000 });
    assert.equal(app?.startTimeoutMs, 20000);
    assert.equal(services.worker?.stopGraceMs, 3000);
  });

  test('each problem is reported as file:line: field: message', async () => {
    const file = path.join(FIXTURES, 'services-invalid.yaml');
    const lines = (await loadError(file)).split('\n').slice(1);
    assert.ok(lines.includes(`${file}:3: good-name.argv: argv must be a list; shell strings are not allowed`), lines.join('\n'));
    assert.ok(lines.includes(`${file}:10: other.pidfile: unknown field`), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`${file}:15: probe.health`)), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`${file}:18: bad name!:`)), lines.join('\n'));
    assert.equal(lines.length, 4, lines.join('\n'));
  });

  test('YAML syntax errors and duplicate names are reported with their line', () => {
    assert.throws(() => parseServicesFile('a:\n  argv: [x]\na:\n  argv: [y]\n', 'dup.yaml'), /dup\.yaml:3: Map keys must be unique/);
    assert.throws(() => parseServicesFile('a: [unclosed\n', 'bad.yaml'), /bad\.yaml:\d+: /);
  });

  test('a missing file is an error, or an empty registry when it is optional', async () => {
    const missing = path.join(FIXTURES, 'no-such-services.yaml');
    assert.match(await loadError(missing), /no-such-services\.yaml: ENOENT/);
    assert.deepEqual(await loadServicesFileIfPresent(missing), {});
  });

  test('an empty file is an empty registry', () => {
    assert.deepEqual(parseServicesFile('# nothing yet\n', 'empty.yaml'), {});
  });
});

describe('service registry lookup', () => {
  const registry = parseServicesFile('svc:\n  argv: [/bin/x]\n  pidFile: /run/x.pid\n  logFile: /tmp/x.log\n  stopGraceMs: 700\n', '/etc/s.yaml');

  test('a registered service resolves to a supervisor spec with its timeouts', () => {
    const resolved = resolveService(registry, { service: 'svc' }, 60_000);
    assert.deepEqual(resolved.spec, { name: 'svc', argv: ['/bin/x'], pidFile: '/run/x.pid', logFile: '/tmp/x.log' });
    assert.equal(resolved.stopGraceMs, 700);
    assert.equal(resolved.startTimeoutMs, 15_000);
  });

  test('default timeouts are capped by the action deadline', () => {
    assert.equal(resolveService(registry, { service: 'svc' }, 4_000).startTimeoutMs, 4_000);
  });

  test('an unknown name is TargetNotFound naming the known services, and inherited keys are not services', () => {
    assert.throws(() => resolveService(registry, { service: 'other' }, 1000), (err: unknown) => {
      assert.ok(err instanceof TargetNotFoundError);
      assert.match(err.message, /known: svc/);
      return true;
    });
    assert.throws(() => resolveService(registry, { service: 'constructor' }, 1000), TargetNotFoundError);
  });

  test('a supervisor config reference is refused as InvalidSpec', () => {
    assert.throws(() => resolveService(registry, { service: 'svc', config: 'x' }, 1000), InvalidSpecError);
  });
});
