import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../observability/logger';
import { superviseComponent, type ComponentStatus } from '../../stack/component-supervisor';
import type { ManagedProcess } from '../../stack/managed-process';
import type { RestartPolicy } from '../../stack/restart-policy';
import { waitFor } from '../../stack/wait-for';

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A stand-in process that ends when told to. */
function fakeProcess(pid: number): ManagedProcess & { die(exit: Exit): void } {
  let die: (exit: Exit) => void = () => undefined;
  let running = true;
  const exited = new Promise<Exit>((r) => (die = r)).then((e) => {
    running = false;
    return e;
  });
  return {
    name: 'worker',
    pid,
    logFile: '/dev/null',
    exited,
    isRunning: () => running,
    stop: async () => {
      die({ code: null, signal: 'SIGTERM' });
      await exited;
    },
    die: (exit) => die(exit),
  };
}

const fast: RestartPolicy = { initialDelayMs: 1, maxDelayMs: 4, resetAfterMs: 60_000, maxRestarts: 3, windowMs: 60_000 };
const quiet = createLogger('test', 'error', { write: () => true } as unknown as NodeJS.WritableStream);

test('a process that dies is replaced, and each change is published with its restart count and exit', async () => {
  const first = fakeProcess(100);
  const spawned: ReturnType<typeof fakeProcess>[] = [];
  const changes: ComponentStatus[] = [];
  const sup = superviseComponent({
    first,
    policy: fast,
    logger: quiet,
    onChange: (s) => changes.push(s),
    respawn: async (onSpawn) => {
      const proc = fakeProcess(101 + spawned.length);
      spawned.push(proc);
      onSpawn(proc);
      return proc;
    },
  });
  first.die({ code: null, signal: 'SIGKILL' });
  await waitFor('the restart', 5_000, () => sup.status().state === 'running' && sup.status().proc.pid === 101, 5);
  assert.deepEqual(changes.map((c) => c.state), ['restarting', 'starting', 'running']);
  assert.equal(sup.status().restarts, 1);
  assert.equal(sup.status().lastExit?.signal, 'SIGKILL');
  sup.halt();
  await spawned[0]?.stop();
  assert.equal(spawned.length, 1, 'a halted supervisor starts nothing more');
});

test('a component that crash-loops past the limit is marked failed and not started again', async () => {
  const first = fakeProcess(200);
  let starts = 0;
  const sup = superviseComponent({
    first,
    policy: fast,
    logger: quiet,
    onChange: () => undefined,
    respawn: async (onSpawn) => {
      starts += 1;
      const proc = fakeProcess(200 + starts);
      onSpawn(proc);
      proc.die({ code: 1, signal: null });
      throw new Error('exited during start-up');
    },
  });
  first.die({ code: 1, signal: null });
  await waitFor('the component to be given up', 5_000, () => sup.status().state === 'failed', 5);
  assert.equal(starts, fast.maxRestarts);
  assert.equal(sup.status().restarts, fast.maxRestarts);
  assert.equal(sup.status().lastExit?.code, 1);
});
