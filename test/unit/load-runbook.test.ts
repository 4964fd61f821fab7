import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateCommand } from '../../cli/commands/validate';
import {
  formatRunbookErrors,
  loadRunbookDir,
  loadRunbookFile,
  loadRunbookText,
  type LoadResult,
  type RunbookError,
} from '../../engine/load-runbook';

const ROOT = join(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'runbooks');

/** 1-based line of the first line containing `marker` (the nth when several do). */
function lineOf(text: string, marker: string, nth = 1): number {
  let seen = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.includes(marker) && ++seen === nth) return i + 1;
  }
  throw new Error(`marker ${marker} not found`);
}

type AnyResult = LoadResult | Awaited<ReturnType<typeof loadRunbookDir>>;

function errorsOf(result: AnyResult): RunbookError[] {
  assert.equal(result.ok, false, 'expected the runbook to be rejected');
  return result.ok ? [] : result.errors;
}

function onlyError(result: AnyResult): RunbookError {
  const errors = errorsOf(result);
  assert.equal(errors.length, 1, formatRunbookErrors(errors));
  return errors[0] as RunbookError;
}

const HEADER = `name: sample
version: 1
match:
  kinds: [disk_full]
params:
  dir: /var/tmp
`;

/** HEADER with an allow-list for the programs the command examples run. */
const COMMANDS_HEADER = HEADER.replace('params:', 'settings:\n  allowed_executables: [ls, echo, date, mktemp, rm]\nparams:');

describe('loading runbooks', () => {
  test('the shipped runbooks load cleanly from the runbooks directory', async () => {
    const result = await loadRunbookDir(join(ROOT, 'runbooks'));
    assert.equal(result.ok, true, result.ok ? '' : formatRunbookErrors(result.errors));
    assert.deepEqual(result.ok && result.runbooks.map((r) => r.runbook.name).sort(), ['backup', 'failover', 'replication', 'restart-in-place']);
    for (const loaded of result.ok ? result.runbooks : []) assert.match(loaded.hash, /^[0-9a-f]{64}$/);
  });

  test('a valid file loads with its source and a hash of its content', async () => {
    const path = join(FIXTURES, 'valid', 'fenced-sync.yaml');
    const result = await loadRunbookFile(path);
    assert.equal(result.ok, true, result.ok ? '' : formatRunbookErrors(result.errors));
    if (!result.ok) return;
    assert.equal(result.source, path);
    assert.equal(result.runbook.version, 2);
    const again = loadRunbookText(`# a comment changes nothing\n${await readFile(path, 'utf8')}`, 'other.yaml');
    assert.equal(again.ok && again.hash, result.hash);
  });

  test('a field of the wrong type is reported at its line', () => {
    const text = HEADER.replace('version: 1', 'version: one') + 'steps:\n  - id: a\n    action: {kind: wait, duration: 1s}\n';
    const error = onlyError(loadRunbookText(text, 'wrong-type.yaml'));
    assert.equal(error.line, lineOf(text, 'version:'));
    assert.equal(error.path, 'version');
    assert.equal(formatRunbookErrors([error]), `wrong-type.yaml:${error.line}: version: ${error.message}`);
  });

  test('a step without an id is reported at the step', () => {
    const text = `${HEADER}steps:\n  - name: no id here\n    action:\n      kind: wait\n      duration: 1s\n`;
    const error = onlyError(loadRunbookText(text, 'missing-id.yaml'));
    assert.equal(error.path, 'steps[0].id');
    assert.equal(error.line, lineOf(text, 'name: no id here'));
  });

  test('an unknown action kind is reported at the kind line', () => {
    const text = `${HEADER}steps:\n  - id: a\n    action:\n      kind: reboot\n`;
    const error = onlyError(loadRunbookText(text, 'kind.yaml'));
    assert.equal(error.path, 'steps[0].action.kind');
    assert.equal(error.line, lineOf(text, 'kind: reboot'));
    assert.match(error.message, /unknown action kind "reboot"/);
  });

  test('an unknown field is named and located', () => {
    const text = `${HEADER}steps:\n  - id: a\n    action:\n      kind: wait\n      duration: 1s\n    retries: 3\n`;
    const error = onlyError(loadRunbookText(text, 'typo.yaml'));
    assert.equal(error.path, 'steps[0].retries');
    assert.equal(error.line, lineOf(text, 'retries: 3'));
    assert.match(error.message, /unknown field "retries"/);
  });

  test('a duplicate step id is reported at the second use', async () => {
    const path = join(FIXTURES, 'invalid', 'duplicate-step-ids.yaml');
    const text = await readFile(path, 'utf8');
    const error = onlyError(await loadRunbookFile(path));
    assert.equal(error.path, 'steps[1].id');
    assert.equal(error.line, lineOf(text, 'id: check', 2));
    assert.match(error.message, /duplicate step id "check"/);
  });

  test('a shell-string argv is rejected with the reason, at its line', async () => {
    const path = join(FIXTURES, 'invalid', 'shell-string-argv.yaml');
    const text = await readFile(path, 'utf8');
    const error = onlyError(await loadRunbookFile(path));
    assert.equal(formatRunbookErrors([error]), `${path}:${lineOf(text, 'argv:')}: steps[0].action.argv: argv must be a list; shell strings are not allowed`);
  });

  test('a bad duration is reported at its line', () => {
    const text = `${HEADER}steps:\n  - id: a\n    timeout: 10 seconds\n    action:\n      kind: wait\n      duration: 1s\n`;
    const error = onlyError(loadRunbookText(text, 'duration.yaml'));
    assert.equal(error.path, 'steps[0].timeout');
    assert.equal(error.line, lineOf(text, 'timeout: 10 seconds'));
    assert.match(error.message, /must be a duration like 500ms, 5s, 2m or 1h/);
  });

  test('a YAML syntax error is reported with its line', async () => {
    const path = join(FIXTURES, 'invalid', 'syntax-error.yaml');
    const errors = errorsOf(await loadRunbookFile(path));
    assert.ok(errors.length >= 1);
    assert.ok(errors.every((e) => e.line >= 1 && e.file === path));
    assert.match(errors[0]?.message ?? '', /^YAML syntax error: /);
  });

  test('a duplicate YAML key is a syntax error, not a silent override', () => {
    const text = `${HEADER}version: 2\nsteps:\n  - id: a\n    action: {kind: wait, duration: 1s}\n`;
    const error = errorsOf(loadRunbookText(text, 'dup-key.yaml'))[0];
    assert.equal(error?.line, lineOf(text, 'version: 2'));
  });

  test('an unknown template reference is reported at the string that uses it', () => {
    const text = `${COMMANDS_HEADER}steps:\n  - id: a\n    action:\n      kind: command\n      argv: [ls, "{{ params.missing }}"]\n`;
    const error = onlyError(loadRunbookText(text, 'ref.yaml'));
    assert.equal(error.path, 'steps[0].action.argv[1]');
    assert.equal(error.line, lineOf(text, 'argv:'));
    assert.match(error.message, /no param "missing"/);
  });

  test('a fault field that does not exist and an unknown root are both rejected', () => {
    const text = `${COMMANDS_HEADER}steps:\n  - id: a\n    action:\n      kind: command\n      argv: [echo, "{{ fault.taget }}", "{{ env.HOME }}"]\n`;
    const errors = errorsOf(loadRunbookText(text, 'ref.yaml'));
    assert.equal(errors.length, 2);
    assert.match(errors[0]?.message ?? '', /fault\.taget/);
  });

  test('an expression inside a template is rejected', () => {
    const text = `${COMMANDS_HEADER}steps:\n  - id: a\n    action:\n      kind: command\n      argv: [echo, "{{ fault.target | upper }}"]\n`;
    assert.match(onlyError(loadRunbookText(text, 'expr.yaml')).message, /is not a reference/);
  });

  test('a reference to a later step is a forward reference error', () => {
    const text = `${COMMANDS_HEADER}steps:
  - id: first
    action:
      kind: command
      argv: [echo, "{{ steps.second.output.stdout }}"]
  - id: second
    action:
      kind: command
      argv: [date]
`;
    const error = onlyError(loadRunbookText(text, 'forward.yaml'));
    assert.match(error.message, /forward reference "steps\.second\.output\.stdout"/);
    assert.equal(error.line, lineOf(text, 'steps.second'));
  });

  test('a when condition may read earlier steps but not later ones', () => {
    const text = `${COMMANDS_HEADER}steps:
  - id: first
    action: {kind: command, argv: [date]}
  - id: second
    when:
      all:
        - equals: [steps.first.output.exit_code, 0]
        - exists: steps.third.output.stdout
    action: {kind: command, argv: [date]}
  - id: third
    action: {kind: command, argv: [date]}
`;
    const error = onlyError(loadRunbookText(text, 'when.yaml'));
    assert.equal(error.path, 'steps[1].when.all[1].exists');
    assert.equal(error.line, lineOf(text, 'exists: steps.third'));
  });

  test("a compensation may read its own step's output", () => {
    const text = `${COMMANDS_HEADER}steps:
  - id: first
    action: {kind: command, argv: [mktemp]}
    compensate: {kind: command, argv: [rm, "{{ steps.first.output.stdout }}"]}
`;
    const result = loadRunbookText(text, 'self.yaml');
    assert.equal(result.ok, true, result.ok ? '' : formatRunbookErrors(result.errors));
  });

  test('templates inside params are rejected, since params are constants', () => {
    const text = HEADER.replace('dir: /var/tmp', 'dir: "/var/{{ fault.target }}"') + 'steps:\n  - id: a\n    action: {kind: wait, duration: 1s}\n';
    assert.equal(onlyError(loadRunbookText(text, 'params.yaml')).path, 'params.dir');
  });

  test('a command in a runbook without allowed_executables is rejected: the runner would refuse it', () => {
    const text = `${HEADER}steps:\n  - id: a\n    action: {kind: command, argv: [date]}\n`;
    const error = onlyError(loadRunbookText(text, 'no-allow.yaml'));
    assert.equal(error.path, 'steps[0].action.argv[0]');
    assert.match(error.message, /settings\.allowed_executables/);
  });

  test('allowed_executables limits argv[0] of every command', () => {
    const text = HEADER.replace('params:', 'settings:\n  allowed_executables: [date]\nparams:') + `steps:
  - id: a
    action: {kind: command, argv: [date]}
  - id: b
    action: {kind: command, argv: [curl, http://127.0.0.1]}
`;
    const error = onlyError(loadRunbookText(text, 'allow.yaml'));
    assert.equal(error.path, 'steps[1].action.argv[0]');
    assert.match(error.message, /"curl" is not in settings.allowed_executables/);
  });

  test('an unfenced sync is rejected at the step', async () => {
    const path = join(FIXTURES, 'invalid', 'unfenced-sync.yaml');
    const text = await readFile(path, 'utf8');
    const error = onlyError(await loadRunbookFile(path));
    assert.equal(error.path, 'steps[1]');
    assert.equal(error.line, lineOf(text, 'id: sync'));
    assert.match(error.message, /syncs data but no earlier step fences/);
  });

  test('the same sync is accepted with unfenced: true', async () => {
    const text = (await readFile(join(FIXTURES, 'invalid', 'unfenced-sync.yaml'), 'utf8')).replace(
      '  - id: sync\n',
      '  - id: sync\n    unfenced: true\n',
    );
    const result = loadRunbookText(text, 'opted-out.yaml');
    assert.equal(result.ok, true, result.ok ? '' : formatRunbookErrors(result.errors));
  });

  test('a missing file is an error naming the file', async () => {
    const error = onlyError(await loadRunbookFile(join(FIXTURES, 'no-such-file.yaml')));
    assert.equal(error.line, 0);
    assert.match(formatRunbookErrors([error]), /no-such-file\.yaml: cannot read runbook/);
  });
});

describe('loading a directory and validating files', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'runbooks-'));
    dirs.push(dir);
    return dir;
  }

  function capture() {
    const out = { stdout: '', stderr: '' };
    return {
      out,
      io: {
        stdout: { write: (s: string) => (out.stdout += s) },
        stderr: { write: (s: string) => (out.stderr += s) },
      },
    };
  }

  test('two files with the same runbook name are rejected, blaming the later one', async () => {
    const dir = await tempDir();
    const text = await readFile(join(FIXTURES, 'valid', 'minimal.yaml'), 'utf8');
    await writeFile(join(dir, 'a.yaml'), text);
    await writeFile(join(dir, 'b.yml'), text);
    await writeFile(join(dir, 'notes.txt'), 'not a runbook');
    const result = await loadRunbookDir(dir);
    const error = onlyError(result);
    assert.equal(error.file, join(dir, 'b.yml'));
    assert.equal(error.line, lineOf(text, 'name:'));
    assert.match(error.message, /duplicate runbook name "minimal"/);
  });

  test('validate prints OK with name, version and short hash for valid files and exits 0', async () => {
    const { out, io } = capture();
    const code = await validateCommand([join(ROOT, 'runbooks')], { json: false }, io);
    assert.equal(code, 0, out.stderr);
    assert.match(out.stdout, /^OK .*failover\.yaml \(failover v1, hash [0-9a-f]{12}\)$/m);
    assert.match(out.stdout, /^OK .*restart-in-place\.yaml \(restart-in-place v1, hash [0-9a-f]{12}\)$/m);
    assert.equal(out.stderr, '');
  });

  test('validate prints file:line errors to stderr and exits 1 when any file is invalid', async () => {
    const { out, io } = capture();
    const bad = join(FIXTURES, 'invalid', 'shell-string-argv.yaml');
    const code = await validateCommand([join(FIXTURES, 'valid', 'minimal.yaml'), bad], { json: false }, io);
    assert.equal(code, 1);
    assert.match(out.stdout, /^OK .*minimal\.yaml/);
    assert.match(out.stderr, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: steps\\[0\\]\\.action\\.argv: argv must be a list`));
  });

  test('validate --json reports every file', async () => {
    const { out, io } = capture();
    const code = await validateCommand([join(FIXTURES, 'invalid', 'duplicate-step-ids.yaml'), join(FIXTURES, 'valid')], { json: true }, io);
    assert.equal(code, 1);
    const report = JSON.parse(out.stdout) as { ok: boolean; files: { file: string; ok: boolean; errors?: RunbookError[] }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(report.files.map((f) => f.ok), [false, true, true]);
    assert.equal(report.files[0]?.errors?.[0]?.path, 'steps[1].id');
  });
});

describe('content hash', () => {
  const steps = 'steps:\n  - id: a\n    action: {kind: wait, duration: 1s}\n';

  function hashOf(text: string): string {
    const result = loadRunbookText(text, 'h.yaml');
    assert.equal(result.ok, true, result.ok ? '' : formatRunbookErrors(result.errors));
    return result.ok ? result.hash : '';
  }

  test('is the same whatever order the keys are written in', () => {
    const reordered = `${steps}params:\n  dir: /var/tmp\nmatch:\n  kinds: [disk_full]\nversion: 1\nname: sample\n`;
    assert.equal(hashOf(HEADER + steps), hashOf(reordered));
  });

  test('is the same when a default is written out explicitly', () => {
    const explicit = HEADER + steps.replace('duration: 1s}', 'duration: 1s}\n    on_failure: escalate');
    assert.equal(hashOf(HEADER + steps), hashOf(explicit));
  });

  test('changes when any value changes', () => {
    const base = hashOf(HEADER + steps);
    assert.notEqual(hashOf(HEADER.replace('/var/tmp', '/var/tmp2') + steps), base);
    assert.notEqual(hashOf(HEADER + steps.replace('1s', '2s')), base);
    assert.notEqual(hashOf(HEADER.replace('version: 1', 'version: 2') + steps), base);
  });
});

describe('runbook documentation', () => {
  test('the shipped runbooks quoted in docs/runbooks.md match the files', async () => {
    const doc = await readFile(join(ROOT, 'docs', 'runbooks.md'), 'utf8');
    for (const name of ['backup.yaml', 'failover.yaml', 'replication.yaml', 'restart-in-place.yaml']) {
      const marker = `<!-- runbooks/${name} -->\n\`\`\`yaml\n`;
      const start = doc.indexOf(marker);
      assert.notEqual(start, -1, `docs/runbooks.md quotes runbooks/${name}`);
      const body = doc.slice(start + marker.length, doc.indexOf('```', start + marker.length));
      assert.equal(body, await readFile(join(ROOT, 'runbooks', name), 'utf8'), `docs copy of ${name} is current`);
    }
  });
});
