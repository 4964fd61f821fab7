import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS, main } from '../../cli/main';

/** Runs main with stdout captured. */
async function captured(argv: string[]): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await main(argv), out };
  } finally {
    process.stdout.write = write;
  }
}

const commandModulesLoaded = (): string[] => Object.keys(require.cache).filter((p) => /[\\/]cli[\\/]commands[\\/]/.test(p));

test('runbook help lists every command without loading any command module', async () => {
  const { code, out } = await captured(['help']);
  assert.equal(code, 0);
  for (const name of Object.keys(COMMANDS)) assert.match(out, new RegExp(`^  ${name} +\\S`, 'm'), name);
  assert.deepEqual(commandModulesLoaded(), []);
});

test('the summary help lists for each command is the one the command itself prints', () => {
  for (const [name, entry] of Object.entries(COMMANDS)) assert.equal(entry.load().summary, entry.summary, name);
});
