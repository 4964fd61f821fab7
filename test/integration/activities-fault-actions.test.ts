import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RegisteredService } from '../../config/services';
import { portRule } from '../../activities/fault-actions';
import { freePort } from '../../stack/ports';
import { action, harness, rejectsWith, request, testDeps, waitFor, type Harness } from '../fixtures/activities/harness';
import { alive, writePidServer } from '../helpers/processes';

/** The output without its `at`, once `at` is checked to be the moment just past: a drill measures from it. */
function whenInjected(output: Record<string, unknown>): Record<string, unknown> {
  const { at, ...rest } = output;
  assert.equal(typeof at, 'string', 'the output says when the fault took effect');
  const ms = Date.parse(at as string);
  assert.ok(ms <= Date.now() && ms > Date.now() - 60_000, `at ${String(at)} is the moment just past`);
  return rest;
}

/*
 * The fault-injection actions a drill injects, through runAction as the
 * worker runs them: a real supervised process, a stand-in iptables, a real
 * directory.
 */

/** The process state letter from /proc (`T` is stopped by a signal). */
async function procState(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
}

describe('kill_process against a process the supervisor started', () => {
  let dir: string;
  let service: RegisteredService;
  let h: Harness;
  const pids: number[] = [];
  const kill = (signal?: string) => action({ kind: 'kill_process', supervisor: { service: 'web' }, ...(signal ? { signal } : {}) });
  const startWeb = async (): Promise<number> => {
    const r = await h.runAction(request(action({ kind: 'start_service', supervisor: { service: 'web' } })));
    const pid = r.output.pid as number;
    pids.push(pid);
    return pid;
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-kill-'));
    const port = await freePort();
    service = {
      name: 'web',
      argv: [process.execPath, await writePidServer(dir), String(port)],
      cwd: dir,
      pidFile: path.join(dir, 'run', 'web.pid'),
      logFile: path.join(dir, 'log', 'web.log'),
      health: { kind: 'http', url: `http://127.0.0.1:${port}/health`, timeoutMs: 500 },
      startTimeoutMs: 10_000,
      stopGraceMs: 2_000,
    };
    h = harness(testDeps({ services: { web: service } }));
  });
  after(async () => {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('a dry run names the signal and the pid and leaves the process running', async () => {
    const pid = await startWeb();
    const r = await h.runAction(request(kill(), { dryRun: true }));
    assert.equal(r.dryRun, true);
    assert.match(r.summary, new RegExp(`SIGKILL to web \\(pid ${pid}\\)`));
    assert.equal(r.output.pid, pid);
    assert.ok(alive(pid));
    assert.notEqual(await procState(pid), 'T');
  });

  test('SIGKILL (the default) crashes the service: the process is gone', async () => {
    const pid = pids.at(-1) as number;
    const r = await h.runAction(request(kill()));
    assert.equal(r.dryRun, false);
    assert.deepEqual(whenInjected(r.output), { service: 'web', pid, signal: 'SIGKILL' });
    await waitFor(() => alive(pid), (a) => !a);
  });

  test('a service that is not running is TargetNotFound, not retried; a dry run of it says so', async () => {
    await rejectsWith(h.runAction(request(kill())), 'TargetNotFound', true);
    const plan = await h.runAction(request(kill(), { dryRun: true }));
    assert.match(plan.summary, /not running now/);
    assert.equal(plan.output.pid, null);
  });

  test('SIGSTOP freezes the service: alive but stopped, as a hang', async () => {
    const pid = await startWeb();
    const r = await h.runAction(request(kill('SIGSTOP')));
    assert.equal(r.output.signal, 'SIGSTOP');
    assert.equal(await waitFor(() => procState(pid), (s) => s === 'T'), 'T');
    assert.ok(alive(pid));
    process.kill(pid, 'SIGCONT');
    await waitFor(() => procState(pid), (s) => s !== 'T');
  });
});

// A stand-in iptables: records each argv (one bracketed element per argument)
// and keeps the INPUT chain's rules, one per line, in a file beside it. A
// file named `broken` beside it makes every call fail with exit 3.
const FAKE_IPTABLES = `#!/bin/sh
dir=$(dirname "$0")
for arg in "$@"; do printf '[%s]' "$arg"; done >> "$dir/calls.log"
echo >> "$dir/calls.log"
if [ -e "$dir/broken" ]; then echo "iptables: Permission denied (you must be root)" >&2; exit 3; fi
verb=$1; chain=$2; shift 2
rule="$chain $*"
touch "$dir/rules"
case "$verb" in
  -C) grep -Fxq -- "$rule" "$dir/rules" && exit 0; echo "iptables: Bad rule" >&2; exit 1 ;;
  -I) { echo "$rule"; cat "$dir/rules"; } > "$dir/rules.new" && mv "$dir/rules.new" "$dir/rules" ;;
  -D) grep -Fxq -- "$rule" "$dir/rules" || { echo "iptables: Bad rule" >&2; exit 1; }
      grep -Fxv -- "$rule" "$dir/rules" > "$dir/rules.new"; mv "$dir/rules.new" "$dir/rules" ;;
  *) echo "unexpected $verb" >&2; exit 2 ;;
esac
`;

describe('block_port and unblock_port through a stand-in iptables', () => {
  let dir: string;
  let exe: string;
  const h = harness(testDeps());
  const port = (kind: 'block_port' | 'unblock_port', extra: Record<string, unknown> = {}) => action({ kind, port: 8080, iptables: exe, ...extra });
  const calls = async (): Promise<string[]> => (await readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  const rules = async (): Promise<string[]> => (await readFile(path.join(dir, 'rules'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  const verbs = async (): Promise<string[]> => (await calls()).map((c) => c.slice(1, 3));
  const clear = () => rm(path.join(dir, 'calls.log'), { force: true });
  const rule = `INPUT ${portRule({ port: 8080, protocol: 'tcp' }).join(' ')}`;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-iptables-'));
    exe = path.join(dir, 'iptables');
    await writeFile(exe, FAKE_IPTABLES);
    await chmod(exe, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a dry run runs nothing and says which rule it would insert', async () => {
    const r = await h.runAction(request(port('block_port'), { dryRun: true }));
    assert.equal(r.dryRun, true);
    assert.match(r.summary, /reject new connections to tcp\/8080/);
    assert.match(r.plan ?? '', / -I INPUT -p tcp --dport 8080 /);
    assert.deepEqual(await calls(), []);
  });

  test('blocking checks for the rule (-C), then inserts it (-I) with a fixed argv', async () => {
    const r = await h.runAction(request(port('block_port')));
    assert.deepEqual(whenInjected(r.output), { port: 8080, changed: true });
    assert.deepEqual(await verbs(), ['-C', '-I']);
    assert.deepEqual(await calls(), [`[-C][INPUT]${portRule({ port: 8080, protocol: 'tcp' }).map((a) => `[${a}]`).join('')}`, `[-I][INPUT]${portRule({ port: 8080, protocol: 'tcp' }).map((a) => `[${a}]`).join('')}`]);
    assert.deepEqual(await rules(), [rule]);
  });

  test('a second block finds the rule and changes nothing', async () => {
    await clear();
    const r = await h.runAction(request(port('block_port')));
    assert.deepEqual(r.output, { port: 8080, changed: false });
    assert.deepEqual(await verbs(), ['-C']);
    assert.deepEqual(await rules(), [rule]);
  });

  test('a udp block is a different rule, without a tcp reset', async () => {
    await h.runAction(request(port('block_port', { protocol: 'udp' })));
    assert.equal((await rules()).length, 2);
    assert.ok(!(await rules())[0]?.includes('tcp-reset'));
    await h.runAction(request(port('unblock_port', { protocol: 'udp' })));
    assert.deepEqual(await rules(), [rule]);
  });

  test('a dry-run unblock runs nothing', async () => {
    await clear();
    const r = await h.runAction(request(port('unblock_port'), { dryRun: true }));
    assert.match(r.plan ?? '', / -D INPUT -p tcp --dport 8080 /);
    assert.deepEqual(await calls(), []);
    assert.deepEqual(await rules(), [rule]);
  });

  test('unblocking deletes the rule (-C, then -D); unblocking again finds nothing and is fine', async () => {
    await clear();
    assert.deepEqual((await h.runAction(request(port('unblock_port')))).output, { port: 8080, changed: true });
    assert.deepEqual(await verbs(), ['-C', '-D']);
    assert.deepEqual(await rules(), []);
    await clear();
    assert.deepEqual((await h.runAction(request(port('unblock_port')))).output, { port: 8080, changed: false });
    assert.deepEqual(await verbs(), ['-C']);
  });

  test('an iptables that fails (exit 3) is a CommandFailed error with its message, and nothing is inserted', async () => {
    await writeFile(path.join(dir, 'broken'), '');
    try {
      await clear();
      const failure = await rejectsWith(h.runAction(request(port('block_port'))), 'CommandFailed', false);
      assert.match(failure.message, /exited 3: iptables: Permission denied/);
      assert.deepEqual(await verbs(), ['-C']);
      assert.deepEqual(await rules(), []);
    } finally {
      await rm(path.join(dir, 'broken'));
    }
  });
});

describe('delete_data', () => {
  let dir: string;
  const h = harness(testDeps());
  const del = (p: string) => action({ kind: 'delete_data', path: p });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fault-delete-'));
    await mkdir(path.join(dir, 'data', 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'data', 'model.json'), '{}');
    await writeFile(path.join(dir, 'data', 'sub', 'canary.jsonl'), '');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a dry run counts what it would delete and deletes nothing', async () => {
    const r = await h.runAction(request(del(path.join(dir, 'data')), { dryRun: true }));
    assert.equal(r.dryRun, true);
    assert.match(r.summary, /delete .*data and the 2 entries in it/);
    assert.ok((await stat(path.join(dir, 'data', 'model.json'))).isFile());
  });

  test('it deletes the directory with everything in it', async () => {
    const r = await h.runAction(request(del(path.join(dir, 'data'))));
    assert.deepEqual(whenInjected(r.output), { path: path.join(dir, 'data'), entries: 2, changed: true });
    await assert.rejects(stat(path.join(dir, 'data')), { code: 'ENOENT' });
    assert.ok((await stat(dir)).isDirectory(), 'the parent stays');
  });

  test('a directory that is not there is no error and no change', async () => {
    const r = await h.runAction(request(del(path.join(dir, 'data'))));
    assert.deepEqual(whenInjected(r.output), { path: path.join(dir, 'data'), entries: 0, changed: false });
    const plan = await h.runAction(request(del(path.join(dir, 'missing')), { dryRun: true }));
    assert.match(plan.summary, /does not exist; nothing to delete/);
  });
});
