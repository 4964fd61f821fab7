import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { action, harness, memoryLogger, rejectsWith, request, resolved, testDeps } from '../fixtures/activities/harness';
import { startReceiver } from '../fixtures/activities/http-receiver';
import type { Receiver } from '../fixtures/activities/http-receiver';

const NODE = process.execPath;
const SECRET = 's3cr3t-value-0451';

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

describe('runAction dispatch', () => {
  test('wait and confirm are refused as non-retryable InvalidSpec because the workflow runs them', async () => {
    const h = harness();
    await rejectsWith(h.runAction(request(action({ kind: 'wait', duration: '5s' }))), 'InvalidSpec', true);
    const confirm = action({ kind: 'confirm', target: { tcp: { host: '127.0.0.1', port: 1 } } });
    await rejectsWith(h.runAction(request(confirm)), 'InvalidSpec', true);
  });

  test('a probe of an unreachable target returns ok false as output instead of failing', async () => {
    const h = harness();
    const result = await h.runAction(request(action({ kind: 'probe', target: { tcp: { host: '127.0.0.1', port: 1 } }, timeout: '1s' })));
    assert.equal(result.dryRun, false);
    assert.equal(result.output.ok, false);
    assert.equal(typeof result.output.latency_ms, 'number');
    assert.match(result.summary, /unhealthy/);
  });

  test('a verify of an unreachable target fails retryably with type ProbeUnhealthy', async () => {
    const h = harness();
    const failure = await rejectsWith(
      h.runAction(request(action({ kind: 'verify', target: { tcp: { host: '127.0.0.1', port: 1 } }, timeout: '1s' }))),
      'ProbeUnhealthy',
      false,
    );
    assert.match(failure.message, /127\.0\.0\.1:1/);
  });

  test('each finished action is logged with its incident, step and summary', async () => {
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const h = harness(testDeps({ logger: memoryLogger(lines) }));
    await h.runAction(request(action({ kind: 'probe', target: { tcp: { host: '127.0.0.1', port: 1 } }, timeout: '1s' }), { stepId: 'p' }));
    const line = lines.find((l) => l.msg === 'action finished');
    assert.equal(line?.fields.incidentId, 'incident/app/primary');
    assert.equal(line?.fields.stepId, 'p');
    assert.equal(line?.fields.kind, 'probe');
  });
});

describe('runAction error mapping', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  test('a command whose program is not allow-listed fails non-retryably with type NotAllowed', async () => {
    const h = harness();
    const cmd = action({ kind: 'command', argv: [NODE, '-e', ''] });
    await rejectsWith(h.runAction(request(cmd, { allowedExecutables: [] })), 'NotAllowed', true);
    await rejectsWith(h.runAction(request(cmd, { allowedExecutables: ['/bin/true'] })), 'NotAllowed', true);
  });

  test('a command exiting non-zero fails retryably with type CommandFailed and its exit code as detail', async () => {
    const h = harness();
    const cmd = action({ kind: 'command', argv: [NODE, '-e', 'process.exit(3)'] });
    const failure = await rejectsWith(h.runAction(request(cmd, { allowedExecutables: [NODE] })), 'CommandFailed', false);
    assert.deepEqual(failure.details, [{ exit_code: 3, signal: null }]);
  });

  test('an isolation through a malformed HAProxy socket path is a non-retryable InvalidSpec', async () => {
    const h = harness();
    const templated = action({ kind: 'isolate', haproxy: { socket: '{{ params.socket }}', backend: 'be', server: 's1' } });
    const isolate = resolved(templated, ['haproxy', 'socket'], 'relative.sock');
    await rejectsWith(h.runAction(request(isolate)), 'InvalidSpec', true);
  });

  test('an isolation through a HAProxy socket nobody listens on is a retryable HaproxyError', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'act-unit-'));
    try {
      const h = harness();
      const isolate = action({ kind: 'isolate', haproxy: { socket: path.join(dir, 'none.sock'), backend: 'be', server: 's1' } });
      await rejectsWith(h.runAction(request(isolate)), 'HaproxyError', false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a supervisor service missing from the registry is a non-retryable TargetNotFound', async () => {
    const h = harness();
    const start = action({ kind: 'start_service', supervisor: { service: 'nope' } });
    const failure = await rejectsWith(h.runAction(request(start)), 'TargetNotFound', true);
    assert.match(failure.message, /nope/);
  });

  test('a webhook answered 400 is non-retryable WebhookRejected and 503 is retryable WebhookUnavailable', async () => {
    const h = harness();
    const notify = action({ kind: 'notify', webhook: { url: `${receiver.url}/hook` }, message: 'hello' });
    receiver.respond.status = 400;
    const rejected = await rejectsWith(h.runAction(request(notify)), 'WebhookRejected', true);
    assert.deepEqual(rejected.details, [{ status: 400 }]);
    receiver.respond.status = 503;
    await rejectsWith(h.runAction(request(notify)), 'WebhookUnavailable', false);
    receiver.respond.status = 200;
  });

  test('a webhook with expect_status fails unless that exact status comes back', async () => {
    const h = harness();
    receiver.respond.status = 200;
    const expect202 = action({ kind: 'notify', webhook: { url: receiver.url, expect_status: 202 }, message: 'm' });
    await rejectsWith(h.runAction(request(expect202)), 'WebhookRejected', true);
    receiver.respond.status = 409;
    const expect409 = action({ kind: 'notify', webhook: { url: receiver.url, expect_status: 409 }, message: 'm' });
    const result = await h.runAction(request(expect409));
    assert.equal(result.output.status, 409);
    receiver.respond.status = 200;
  });

  test('a webhook method other than POST is refused as InvalidSpec before anything is sent', async () => {
    const h = harness();
    const before = receiver.requests.length;
    const put = resolved(action({ kind: 'notify', webhook: { url: receiver.url }, message: 'm' }), ['webhook', 'method'], 'PUT');
    await rejectsWith(h.runAction(request(put)), 'InvalidSpec', true);
    assert.equal(receiver.requests.length, before);
  });

  test('notify through NATS without a connection fails non-retryably with a clear message', async () => {
    const h = harness();
    const failure = await rejectsWith(
      h.runAction(request(action({ kind: 'notify', nats: { subject: 'incidents.app' }, message: 'm' }))),
      'NatsUnavailable',
      true,
    );
    assert.match(failure.message, /no NATS connection/);
  });

  test('probeOnce reports an unhealthy target as ok false and a forbidden probe command as NotAllowed', async () => {
    const h = harness();
    const down = await h.probeOnce({ target: { tcp: { host: '127.0.0.1', port: 1 } }, timeoutMs: 1000, allowedExecutables: [] });
    assert.equal(down.ok, false);
    await rejectsWith(
      h.probeOnce({ target: { command: { argv: [NODE, '-e', ''], expect_exit_code: 0 } }, timeoutMs: 1000, allowedExecutables: [] }),
      'NotAllowed',
      true,
    );
  });
});

describe('runAction dry run', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-dry-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry-run command returns its plan and dry_run output without running', async () => {
    const marker = path.join(dir, 'ran');
    const cmd = action({
      kind: 'command',
      argv: [NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`],
      secrets: { TOKEN: { env: 'TOKEN_SOURCE' } },
    });
    const deps = testDeps({ secretSource: { env: { TOKEN_SOURCE: SECRET } } });
    const result = await harness(deps).runAction(request(cmd, { dryRun: true, allowedExecutables: [NODE] }));
    assert.equal(result.dryRun, true);
    assert.deepEqual(result.output, { dry_run: true });
    assert.match(result.plan ?? '', /would run/);
    assert.match(result.plan ?? '', /TOKEN from env:TOKEN_SOURCE/);
    assert.ok(!JSON.stringify(result).includes(SECRET));
    assert.equal(await exists(marker), false);
  });

  test('a cancelled activity starts no change', async () => {
    const marker = path.join(dir, 'after-cancel');
    const h = harness();
    h.env.cancel();
    const cmd = action({ kind: 'command', argv: [NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] });
    await assert.rejects(h.runAction(request(cmd, { allowedExecutables: [NODE] })), (err: Error) => err.name === 'CancelledFailure');
    assert.equal(await exists(marker), false);
  });

  test('the worker-wide dry run forces a plan even when the request asks to act', async () => {
    const marker = path.join(dir, 'forced');
    const cmd = action({ kind: 'command', argv: [NODE, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`] });
    const result = await harness(testDeps({ dryRun: true })).runAction(request(cmd, { dryRun: false, allowedExecutables: [NODE] }));
    assert.equal(result.dryRun, true);
    assert.equal(await exists(marker), false);
  });

  test('a dry-run rsync says what it would copy and copies nothing', async () => {
    const src = path.join(dir, 'src');
    const dst = path.join(dir, 'dst');
    await mkdir(src, { recursive: true });
    await writeFile(path.join(src, 'a.txt'), 'alpha');
    await writeFile(path.join(src, 'b.txt'), 'beta');
    const sync = action({ kind: 'sync_data', rsync: { source: `${src}/`, destination: `${dst}/` } });
    const result = await harness().runAction(request(sync, { dryRun: true }));
    assert.equal(result.dryRun, true);
    assert.equal(result.output.dry_run, true);
    assert.equal(result.output.files_transferred, 2);
    assert.match(result.plan ?? '', /would sync/);
    assert.equal(await exists(dst), false);
  });

  test('a dry-run start of a registered service plans the start and spawns nothing', async () => {
    const pidFile = path.join(dir, 'svc.pid');
    const deps = testDeps({
      services: { svc: { name: 'svc', argv: [NODE, '-e', 'setInterval(() => {}, 1000)'], pidFile, logFile: path.join(dir, 'svc.log') } },
    });
    const result = await harness(deps).runAction(request(action({ kind: 'start_service', supervisor: { service: 'svc' } }), { dryRun: true }));
    assert.equal(result.dryRun, true);
    assert.deepEqual(result.output, { dry_run: true, service: 'svc', running: false, pid: null });
    assert.match(result.plan ?? '', /would start svc/);
    assert.equal(await exists(pidFile), false);
  });

  test('a dry-run webhook notification plans the POST with its idempotency key and sends nothing', async () => {
    const receiver = await startReceiver();
    try {
      const notify = action({ kind: 'notify', webhook: { url: `${receiver.url}/n` }, message: 'hi' });
      const result = await harness().runAction(request(notify, { dryRun: true, stepId: 'tell' }));
      assert.match(result.plan ?? '', /would POST .* Idempotency-Key incident\/app\/primary\/tell/);
      assert.equal(receiver.requests.length, 0);
    } finally {
      await receiver.close();
    }
  });
});

describe('runAction heartbeats and secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'act-hb-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a sync heartbeats rsync progress for the transfer and verify phases', async () => {
    const src = path.join(dir, 'src');
    await mkdir(src, { recursive: true });
    for (let i = 0; i < 5; i++) await writeFile(path.join(src, `f${i}.bin`), Buffer.alloc(4096, i));
    const h = harness();
    const sync = action({ kind: 'sync_data', rsync: { source: `${src}/`, destination: `${dir}/dst/` } });
    const result = await h.runAction(request(sync));
    assert.equal(result.output.files_transferred, 5);
    assert.equal(result.output.verified, true);
    const phases = new Set(h.heartbeats.map((d) => (d as { phase?: string }).phase));
    assert.ok(phases.has('transfer') && phases.has('verify'), JSON.stringify(h.heartbeats));
    for (const d of h.heartbeats) {
      assert.deepEqual(Object.keys(d as object).sort(), ['bytes', 'elapsed_ms', 'items_seen', 'percent', 'phase']);
    }
    assert.deepEqual((await readdir(path.join(dir, 'dst'))).sort(), ['f0.bin', 'f1.bin', 'f2.bin', 'f3.bin', 'f4.bin']);
  });

  test('a command that prints its secret has the value redacted from output, summary and failure', async () => {
    const file = path.join(dir, 'token');
    await writeFile(file, `${SECRET}\n`);
    const deps = testDeps({ secretSource: { env: { FROM_ENV: `${SECRET}-env` } } });
    const h = harness(deps);
    const print = 'console.log("out " + process.env.A); console.error("err " + process.env.B);';
    const ok = action({
      kind: 'command',
      argv: [NODE, '-e', print],
      secrets: { A: { file }, B: { env: 'FROM_ENV' } },
    });
    const result = await h.runAction(request(ok, { allowedExecutables: [NODE] }));
    assert.equal(result.output.stdout, 'out ***\n');
    assert.equal(result.output.stderr, 'err ***\n');
    assert.ok(!JSON.stringify(result).includes(SECRET));

    const failing = action({ kind: 'command', argv: [NODE, '-e', `${print} process.exit(2)`], secrets: { A: { file }, B: { env: 'FROM_ENV' } } });
    const failure = await rejectsWith(h.runAction(request(failing, { allowedExecutables: [NODE] })), 'CommandFailed', false);
    assert.ok(!failure.message.includes(SECRET), failure.message);
    assert.ok(!JSON.stringify(failure.details).includes(SECRET));
  });

  test('a missing secret fails non-retryably with SecretUnavailable and names only the reference', async () => {
    const cmd = action({ kind: 'command', argv: [NODE, '-e', ''], secrets: { A: { env: 'NOT_SET_ANYWHERE' } } });
    const failure = await rejectsWith(harness().runAction(request(cmd, { allowedExecutables: [NODE] })), 'SecretUnavailable', true);
    assert.match(failure.message, /env:NOT_SET_ANYWHERE/);
  });

  test('a webhook secret header reaches the receiver but not the result', async () => {
    const receiver = await startReceiver();
    try {
      receiver.respond.body = JSON.stringify({ echoed: `Bearer ${SECRET}` });
      const deps = testDeps({ secretSource: { env: { HOOK_TOKEN: `Bearer ${SECRET}` } } });
      const notify = action({
        kind: 'notify',
        webhook: { url: receiver.url, secret_headers: { Authorization: { env: 'HOOK_TOKEN' } } },
        message: 'hi',
      });
      const result = await harness(deps).runAction(request(notify));
      assert.equal(receiver.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
      assert.ok(!JSON.stringify(result).includes(SECRET));
    } finally {
      await receiver.close();
    }
  });
});
