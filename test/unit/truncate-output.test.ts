import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_STEP_OUTPUT_BYTES, truncateOutput, utf8Bytes } from '../../engine/truncate-output';

const size = (v: unknown): number => utf8Bytes(JSON.stringify(v));

test('an output within the limit is kept as it is', () => {
  const output = { exitCode: 0, stdout: 'ok\n', stderr: '' };
  assert.equal(truncateOutput(output), output);
});

test('a large output is cut to the limit, marked truncated with its original size, and keeps its small fields', () => {
  const output = { exitCode: 3, stdout: 'x'.repeat(100_000), stderr: 'é'.repeat(20_000) };
  const cut = truncateOutput(output);
  assert.equal(cut.truncated, true);
  assert.equal(cut.originalBytes, size(output));
  assert.equal(cut.exitCode, 3);
  assert.ok(size(cut) <= MAX_STEP_OUTPUT_BYTES + 64, `cut output is ${size(cut)} bytes`);
  assert.ok(typeof cut.stdout === 'string' && cut.stdout.length > 1_000 && output.stdout.startsWith(cut.stdout));
  assert.ok(typeof cut.stderr === 'string' && output.stderr.startsWith(cut.stderr));
});

test('text that JSON escapes heavily and nested values still fit the limit', () => {
  const output = { lines: '"\n'.repeat(30_000), nested: { rows: Array.from({ length: 5_000 }, (_, i) => ({ i })) } };
  const cut = truncateOutput(output, 4_096);
  assert.equal(cut.truncated, true);
  assert.ok(size(cut) <= 4_096 + 64, `cut output is ${size(cut)} bytes`);
  assert.equal(typeof cut.nested, 'string');
});

test('an output of very many small fields becomes one bounded preview', () => {
  const output = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, i]));
  const cut = truncateOutput(output, 2_048);
  assert.equal(cut.truncated, true);
  assert.ok(size(cut) <= 2_048 + 64, `cut output is ${size(cut)} bytes`);
});

test('UTF-8 lengths count multi-byte characters and surrogate pairs', () => {
  assert.equal(utf8Bytes('aé€😀'), 1 + 2 + 3 + 4);
});
