import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { PROJECT_ROOT } from '../../stack/toolchain';

const eslint = new ESLint({ cwd: PROJECT_ROOT });

async function lintAs(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(PROJECT_ROOT, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

test('workflow code may not import Node builtins, nats or zod', async () => {
  for (const mod of ['node:fs', 'child_process', 'nats', 'zod']) {
    const messages = await lintAs('workflows/incident.ts', `import { x } from '${mod}';\nexport const y = x;\n`);
    assert.ok(messages.some((m) => m.includes('no-restricted-imports')), `${mod}: ${messages.join('; ')}`);
  }
});

test('workflow code may import types, but not values, from activities', async () => {
  const typeOnly = await lintAs('workflows/incident.ts', `import type { Activities } from '../activities';\nexport type A = Activities;\n`);
  assert.deepEqual(typeOnly.filter((m) => m.includes('no-restricted-imports')), []);
  const value = await lintAs('workflows/incident.ts', `import { createActivities } from '../activities';\nexport const a = createActivities;\n`);
  assert.ok(value.some((m) => m.includes('no-restricted-imports')));
});

test('a floating promise is a lint error', async () => {
  const messages = await lintAs('cli/main.ts', `async function f(): Promise<void> {}\nf();\n`);
  assert.ok(messages.some((m) => m.includes('no-floating-promises')));
});
