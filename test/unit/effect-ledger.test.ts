import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ledgerKey, runOnce, type EffectLedger, type EffectRecord } from '../../activities/effect-ledger';
import type { ActionResult } from '../../activities/types';
import { idempotentByConstruction, isIdempotent, onAmbiguous } from '../../engine/effects';
import { Step } from '../../schemas/runbook';
import { action, harness, rejectsWith, request, testDeps } from '../fixtures/activities/harness';

const NODE = process.execPath;

/** An in-memory ledger with the bucket's revision rules, recording every write in order. */
function memoryLedger(): EffectLedger & { records: Map<string, { record: EffectRecord; revision: number }>; writes: EffectRecord[] } {
  const records = new Map<string, { record: EffectRecord; revision: number }>();
  const writes: EffectRecord[] = [];
  let seq = 0;
  const store = (key: string, record: EffectRecord): void => {
    writes.push(record);
    records.set(key, { record: structuredClone(record), revision: ++seq });
  };
  return {
    records,
    writes,
    read: (key) => Promise.resolve(records.get(key)),
    claim(key, record, revision) {
      if (records.get(key)?.revision !== revision) return Promise.reject(new Error('wrong last sequence: 7'));
      store(key, record);
      return Promise.resolve();
    },
    write(key, record) {
      store(key, record);
      return Promise.resolve();
    },
  };
}

const result = (summary: string): ActionResult => ({ dryRun: false, output: { n: 1 }, summary });
const opts = (over: Partial<Parameters<typeof runOnce>[1]> = {}): Parameters<typeof runOnce>[1] => ({ key: 'k', attempt: 1, rerunAmbiguous: false, ...over });

describe('effect ledger: at most one blind run per key', () => {
  test('the start is recorded before the effect runs and the finish with its result after', async () => {
    const ledger = memoryLedger();
    let seenDuring: EffectRecord | undefined;
    const out = await runOnce(ledger, opts(), async () => {
      seenDuring = (await ledger.read('k'))?.record;
      return result('did it');
    });
    assert.equal(seenDuring?.state, 'started');
    assert.deepEqual(ledger.writes.map((w) => w.state), ['started', 'finished']);
    assert.deepEqual(ledger.records.get('k')?.record.result, out);
    assert.equal(out.summary, 'did it');
  });

  test('an attempt that finds a finished record returns its result without running again', async () => {
    const ledger = memoryLedger();
    await runOnce(ledger, opts(), () => Promise.resolve(result('first')));
    let ran = 0;
    const again = await runOnce(ledger, opts({ attempt: 2 }), () => {
      ran += 1;
      return Promise.resolve(result('second'));
    });
    assert.equal(ran, 0);
    assert.equal(again.summary, 'first');
    assert.equal(again.replayed, true);
  });

  test('a start without a finish is refused as a non-retryable AmbiguousOutcome and nothing runs', async () => {
    const ledger = memoryLedger();
    await ledger.claim('k', { state: 'started', attempt: 1, at: '2024-01-01T00:00:00.000Z' }, undefined);
    let ran = 0;
    const failure = await rejectsWith(
      runOnce(ledger, opts({ attempt: 2 }), () => {
        ran += 1;
        return Promise.resolve(result('x'));
      }),
      'AmbiguousOutcome',
      true,
    );
    assert.equal(ran, 0);
    assert.match(failure.message, /attempt 1 started it at 2024-01-01/);
  });

  test('rerunAmbiguous runs despite the unfinished start and records the new attempt', async () => {
    const ledger = memoryLedger();
    await ledger.claim('k', { state: 'started', attempt: 1, at: 'then' }, undefined);
    const out = await runOnce(ledger, opts({ attempt: 2, rerunAmbiguous: true }), () => Promise.resolve(result('rerun')));
    assert.equal(out.summary, 'rerun');
    assert.equal(ledger.records.get('k')?.record.state, 'finished');
    assert.equal(ledger.records.get('k')?.record.attempt, 2);
  });

  test('a known failure is recorded as failed, so the step retry runs the effect again', async () => {
    const ledger = memoryLedger();
    await assert.rejects(runOnce(ledger, opts(), () => Promise.reject(new Error('exit 3'))), /exit 3/);
    assert.equal(ledger.records.get('k')?.record.state, 'failed');
    const out = await runOnce(ledger, opts({ attempt: 2 }), () => Promise.resolve(result('second try')));
    assert.equal(out.summary, 'second try');
  });

  test('a ledger that cannot be read, or take the start, fails the attempt retryably before anything runs', async () => {
    let ran = 0;
    const effect = (): Promise<ActionResult> => {
      ran += 1;
      return Promise.resolve(result('x'));
    };
    const down: EffectLedger = { read: () => Promise.reject(new Error('timeout')), claim: () => Promise.resolve(), write: () => Promise.resolve() };
    await rejectsWith(runOnce(down, opts(), effect), 'EffectLedgerUnavailable', false);
    const readOnly: EffectLedger = { ...memoryLedger(), claim: () => Promise.reject(new Error('no responders')) };
    await rejectsWith(runOnce(readOnly, opts(), effect), 'EffectLedgerUnavailable', false);
    await rejectsWith(runOnce(undefined, opts(), effect), 'EffectLedgerUnavailable', false);
    assert.equal(ran, 0);
  });

  test('losing the race to claim the start means another attempt runs it: ambiguous, not run', async () => {
    const ledger = memoryLedger();
    const racing: EffectLedger = {
      ...ledger,
      read: async (key) => {
        const seen = await ledger.read(key);
        await ledger.claim(key, { state: 'started', attempt: 9, at: 'now' }, seen?.revision);
        return seen;
      },
    };
    await rejectsWith(runOnce(racing, opts(), () => Promise.resolve(result('x'))), 'AmbiguousOutcome', true);
  });

  test('ledger keys are valid KV keys and distinct idempotency keys stay distinct', () => {
    const keys = ['incident/app/primary/run-1/step/e0', 'incident/app/primary/run-1/step/e0/undo', 'incident_app=primary', 'incident/app.primary'];
    const mapped = keys.map(ledgerKey);
    for (const k of mapped) assert.match(k, /^[A-Za-z0-9_=-]+$/);
    assert.equal(new Set(mapped).size, keys.length);
  });
});

describe('runAction and the ledger', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'effect-ledger-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const appender = (file: string) =>
    action({ kind: 'command', argv: [NODE, '-e', `require('fs').appendFileSync(${JSON.stringify(file)}, process.env.RUNBOOK_IDEMPOTENCY_KEY + '\\n')`] });
  const lines = async (file: string): Promise<string[]> => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

  test('a non-idempotent command runs once for a key, however many attempts ask', async () => {
    const file = path.join(dir, 'once.log');
    const ledger = memoryLedger();
    const h = harness(testDeps({ effects: ledger }));
    const req = request(appender(file), { allowedExecutables: [NODE], idempotent: false, idempotencyKey: 'inc/run/step/e0' });
    await h.runAction({ ...req, attempt: 1 });
    const second = await h.runAction({ ...req, attempt: 2 });
    assert.equal(second.replayed, true);
    assert.deepEqual(await lines(file), ['inc/run/step/e0']);
  });

  test('an interrupted non-idempotent command is not run blind: AmbiguousOutcome, file untouched', async () => {
    const file = path.join(dir, 'ambiguous.log');
    const ledger = memoryLedger();
    await ledger.claim(ledgerKey('inc/run/amb/e0'), { state: 'started', attempt: 1, at: 'then' }, undefined);
    const h = harness(testDeps({ effects: ledger }));
    const req = request(appender(file), { allowedExecutables: [NODE], idempotent: false, idempotencyKey: 'inc/run/amb/e0', attempt: 2 });
    await rejectsWith(h.runAction(req), 'AmbiguousOutcome', true);
    assert.deepEqual(await lines(file), []);
    await h.runAction({ ...req, rerunAmbiguous: true });
    assert.deepEqual(await lines(file), ['inc/run/amb/e0']);
  });

  test('idempotent steps, dry runs and requests of older incidents never touch the ledger', async () => {
    const file = path.join(dir, 'free.log');
    const broken: EffectLedger = { read: () => Promise.reject(new Error('must not be read')), claim: () => Promise.reject(new Error('no')), write: () => Promise.reject(new Error('no')) };
    const h = harness(testDeps({ effects: broken }));
    const base = request(appender(file), { allowedExecutables: [NODE], idempotencyKey: 'inc/run/free/e0' });
    await h.runAction({ ...base, idempotent: true });
    await h.runAction(base);
    const plan = await h.runAction({ ...base, idempotent: false, dryRun: true });
    assert.equal(plan.dryRun, true);
    assert.equal((await lines(file)).length, 2);
  });
});

describe('which actions are idempotent', () => {
  test('our own adapters are idempotent by construction; commands and webhooks are not', () => {
    const hook = { url: 'http://127.0.0.1:1/x' };
    const haproxy = { socket: '/run/haproxy.sock', backend: 'b', server: 's' };
    assert.equal(idempotentByConstruction(action({ kind: 'isolate', haproxy })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'restore', haproxy })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'restart_service', systemd: { unit: 'app' } })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'start_service', supervisor: { service: 'app' } })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'sync_data', rsync: { source: '/a/', destination: '/b/' } })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'notify', nats: { subject: 'x' }, message: 'm' })), true);
    assert.equal(idempotentByConstruction(action({ kind: 'command', argv: ['true'] })), false);
    assert.equal(idempotentByConstruction(action({ kind: 'isolate', webhook: hook })), false);
    assert.equal(idempotentByConstruction(action({ kind: 'notify', webhook: hook, message: 'm' })), false);
    assert.equal(idempotentByConstruction(action({ kind: 'stop_service', command: { argv: ['x'] } })), false);
  });

  test('a step may declare itself either way, and on_ambiguous defaults to escalate', () => {
    const cmd = action({ kind: 'command', argv: ['true'] });
    assert.equal(isIdempotent({ action: cmd }), false);
    assert.equal(isIdempotent({ action: cmd, idempotent: true }), true);
    assert.equal(onAmbiguous({}), 'escalate');
    assert.equal(onAmbiguous({ on_ambiguous: 'skip' }), 'skip');
  });

  test('the runbook schema takes idempotent and on_ambiguous on a step and refuses an unknown policy', () => {
    const step = Step.parse({ id: 'append', action: { kind: 'command', argv: ['true'] }, idempotent: false, on_ambiguous: 'rerun' });
    assert.equal(step.idempotent, false);
    assert.equal(step.on_ambiguous, 'rerun');
    assert.equal(Step.safeParse({ id: 'append', action: { kind: 'command', argv: ['true'] }, on_ambiguous: 'hope' }).success, false);
  });
});
