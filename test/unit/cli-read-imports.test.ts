import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../stack/toolchain';

/*
 * `runbook incidents` and `runbook status` reach Temporal over its HTTP API,
 * `runbook show` and `runbook audit` over the lean gRPC reader, so loading them (and everything they import up front) must not load the
 * Temporal SDK, whose protobuf definitions and gRPC cost more than the rest
 * of a command. Each check runs in a fresh process: this one may have loaded
 * the SDK already.
 */

/** The @temporalio and nats packages a fresh process has loaded after requiring `modules`. */
function packagesLoadedBy(modules: string[]): string[] {
  const script = [
    ...modules.map((m) => `require(${JSON.stringify(m)});`),
    `const seen = new Set(Object.keys(require.cache).map((p) => (/node_modules[\\\\/]((@temporalio[\\\\/])?[^\\\\/]+)/.exec(p) || [])[1]).filter(Boolean));`,
    `process.stdout.write(JSON.stringify([...seen].filter((n) => /^(@temporalio|nats|bcryptjs)/.test(n)).sort()));`,
  ].join('\n');
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as string[];
}

test('incidents and status load neither the Temporal SDK, the NATS client nor bcrypt', () => {
  assert.deepEqual(packagesLoadedBy(['./cli/commands/incidents.ts', './cli/commands/status.ts']), []);
});

test('show loads neither the Temporal SDK, the NATS client nor bcrypt; audit loads no Temporal SDK', () => {
  assert.deepEqual(packagesLoadedBy(['./cli/commands/show.ts']), []);
  assert.deepEqual(
    packagesLoadedBy(['./cli/commands/audit.ts']).filter((n) => n.startsWith('@temporalio')),
    [],
  );
});

test('the lean gRPC reads themselves load no Temporal SDK', () => {
  assert.deepEqual(packagesLoadedBy(['./incidents/incident-reads-grpc.ts', './platform/temporal-grpc-reads.ts', './incidents/incident-workflow-reads.ts']), []);
});

test('the HTTP reads themselves load no Temporal SDK', () => {
  assert.deepEqual(packagesLoadedBy(['./incidents/incident-reads-http.ts', './platform/temporal-http.ts', './incidents/query.ts']), []);
});

test('the check can fail: the gRPC reads load the SDK', () => {
  assert.ok(packagesLoadedBy(['./incidents/read-incident.ts']).some((n) => n.startsWith('@temporalio')));
});
