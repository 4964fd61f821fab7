import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { SHARED_WORKFLOW_MODULES, workflowBundleCode } from '../../scripts/bundle-workflows';

/** Module ids webpack gave the project's own modules in the bundle, e.g. "./engine/duration.ts". */
function ownModules(code: string): string[] {
  return [...code.matchAll(/^\/\*\*\*\/ "\.\/([^"]+)"/gm)].map((m) => m[1] as string);
}

test('every engine and schemas module the workflow bundle holds is shared, and only those', async () => {
  const code = await workflowBundleCode();
  const pure = ownModules(code).filter((m) => m.startsWith('engine/') || m.startsWith('schemas/')).sort();
  assert.deepEqual([...SHARED_WORKFLOW_MODULES].sort(), pure, 'update SHARED_WORKFLOW_MODULES in scripts/bundle-workflows.ts');
  assert.ok(!SHARED_WORKFLOW_MODULES.some((m) => m.startsWith('workflows/')), 'workflow modules import @temporalio/workflow and stay per workflow');
});

test('the shared modules load before any workflow exists and export no collection a workflow could fill', async () => {
  const code = await workflowBundleCode();
  const context = vm.createContext({});
  const shared = new Map<string, { exports: unknown }>();
  const cache = new Proxy({}, { get: (_, id: string) => shared.get(id), set: (_, id: string, mod: { exports: unknown }) => (shared.set(id, mod), true) });
  Object.defineProperty(context, '__webpack_module_cache__', { value: cache });
  vm.runInContext(code, context);
  vm.runInContext('__TEMPORAL__.preloadModules()', context);
  for (const m of SHARED_WORKFLOW_MODULES) {
    const mod = shared.get(`./${m}`);
    assert.ok(mod, `${m} was preloaded`);
    // The SDK freezes shared modules, but not the contents of a Map or Set: one exported would be shared by every workflow.
    for (const [name, value] of Object.entries(mod.exports as Record<string, unknown>)) {
      const kind = Object.prototype.toString.call(value);
      assert.ok(!['[object Map]', '[object Set]', '[object WeakMap]', '[object WeakSet]'].includes(kind), `${m} exports ${name}, a ${kind}`);
    }
  }
});
