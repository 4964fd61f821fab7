import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';

/**
 * What the reusable V8 context costs per cached workflow for evaluating the
 * bundle's per-workflow modules (every module not loaded before the first
 * workflow, which the SDK shares): the bundle is loaded into a context that
 * routes the module cache the same way, the workflow modules are imported
 * `count` times into fresh caches held alive, and the heap grows by the
 * returned bytes per copy (after a full GC on each side).
 */
export function moduleCopyBytes(bundlePath: string, count: number): { perWorkflow: number; modules: number } {
  setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const context = vm.createContext({});
  const shared = new Map<string, unknown>();
  let current: Map<string, unknown> | undefined;
  const cache = new Proxy({}, {
    get: (_, id: string) => shared.get(id) ?? current?.get(id),
    set: (_, id: string, mod: unknown) => ((current ?? shared).set(id, mod), true),
  });
  Object.defineProperty(context, '__webpack_module_cache__', { value: cache });
  vm.runInContext(readFileSync(bundlePath, 'utf8'), context);
  vm.runInContext('__TEMPORAL__.preloadModules?.()', context);
  const copies: Map<string, unknown>[] = [];
  const load = (): void => {
    current = new Map();
    vm.runInContext('__TEMPORAL__.importWorkflows()', context);
    copies.push(current);
  };
  // The first copy compiles the functions, which every later copy shares.
  load();
  settle(gc);
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) load();
  settle(gc);
  const perWorkflow = (process.memoryUsage().heapUsed - before) / count;
  return { perWorkflow, modules: copies[0]?.size ?? 0 };
}

/** Full collections until the heap stops shrinking: earlier garbage must not count against the copies. */
function settle(gc: () => void): void {
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= last) return;
    last = used;
  }
}
