import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { Runbook, type Action, type Step } from '../schemas/runbook';
import { formatFieldPath, positionOf } from '../schemas/yaml-positions';
import { conditionReferences } from './conditions';
import { contentHash } from './content-hash';
import { checkFencing } from './fencing';
import { TemplateError, templateReferences } from './template';

/** A problem in a runbook file, located by line and field path. */
export interface RunbookError {
  file: string;
  /** 1-based; 0 when the file could not be read at all. */
  line: number;
  column: number;
  /** Field path such as `steps[2].action.kind`; empty for the whole file. */
  path: string;
  message: string;
}

/** A runbook that passed every check. */
export interface LoadedRunbook {
  ok: true;
  runbook: Runbook;
  /** sha256 of the canonical JSON of `runbook`. */
  hash: string;
  /** The file (or name) it was loaded from. */
  source: string;
}

export interface LoadFailure {
  ok: false;
  errors: RunbookError[];
}

export type LoadResult = LoadedRunbook | LoadFailure;

/**
 * Fault fields a template or condition may read. A reference to any other
 * `fault.*` field is reported as a typo at load time.
 */
export const KNOWN_FAULT_FIELDS: readonly string[] = [
  'id',
  'source',
  'service',
  'target',
  'kind',
  'severity',
  'status',
  'observedAt',
  'labels',
  'annotations',
  'runbook',
  'dryRun',
];

/** Incident fields a template or condition may read. */
export const KNOWN_INCIDENT_FIELDS: readonly string[] = ['id', 'epoch'];

type Path = (string | number)[];

/** `steps[2].action.kind` style. */
export const formatPath = formatFieldPath;

/** One `file:line: field.path: message` line. */
export function formatRunbookError(e: RunbookError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}` : e.file;
  return e.path ? `${where}: ${e.path}: ${e.message}` : `${where}: ${e.message}`;
}

/** All errors as `file:line: field.path: message` lines. */
export function formatRunbookErrors(errors: readonly RunbookError[]): string {
  return errors.map(formatRunbookError).join('\n');
}

/** Maps paths in the parsed data back to positions in the YAML text. */
class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Line and column of the deepest node on `path` that exists in the text. */
  locate(path: readonly PropertyKey[]): { line: number; column: number } {
    return positionOf(this.doc, this.lines, path);
  }
}

interface Problem {
  path: Path;
  message: string;
}

function issueProblems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
    }
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      return [{ path, message: `is required (expected ${issue.expected})` }];
    }
    return [{ path, message: issue.message }];
  });
}

/** Every string inside a value, with its path. */
function stringLeaves(value: unknown, path: Path, out: { value: string; path: Path }[] = []): { value: string; path: Path }[] {
  if (typeof value === 'string') out.push({ value, path });
  else if (Array.isArray(value)) value.forEach((v, i) => stringLeaves(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) stringLeaves(v, [...path, k], out);
  }
  return out;
}

/** Every `argv` list inside an action, with its path. */
function argvLists(value: unknown, path: Path, out: { argv: string[]; path: Path }[] = []): { argv: string[]; path: Path }[] {
  if (Array.isArray(value)) value.forEach((v, i) => argvLists(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'argv' && Array.isArray(v)) out.push({ argv: v.map(String), path: [...path, k] });
      else argvLists(v, [...path, k], out);
    }
  }
  return out;
}

/**
 * Why a reference cannot be used from step `index`, or `undefined` when it can.
 * `selfAllowed` is true for compensations, which run after their own step.
 */
function referenceProblem(ref: string, runbook: Runbook, index: number, selfAllowed: boolean): string | undefined {
  const [root, first, second] = ref.split('.');
  switch (root) {
    case 'fault':
      return first !== undefined && KNOWN_FAULT_FIELDS.includes(first)
        ? undefined
        : `unknown reference "${ref}": fault has ${KNOWN_FAULT_FIELDS.join(', ')}`;
    case 'params':
      if (ref.split('.').length !== 2) return `"${ref}": params are plain values, use params.<name>`;
      return first !== undefined && Object.prototype.hasOwnProperty.call(runbook.params, first)
        ? undefined
        : `unknown reference "${ref}": no param "${first ?? ''}" is defined`;
    case 'incident':
      return first !== undefined && KNOWN_INCIDENT_FIELDS.includes(first) && ref.split('.').length === 2
        ? undefined
        : `unknown reference "${ref}": incident has ${KNOWN_INCIDENT_FIELDS.join(', ')}`;
    case 'steps': {
      if (second !== 'output') return `"${ref}": step references look like steps.<id>.output.<field>`;
      const target = runbook.steps.findIndex((s) => s.id === first);
      if (target === -1) return `unknown reference "${ref}": there is no step "${first ?? ''}"`;
      if (target < index || (selfAllowed && target === index)) return undefined;
      return target === index
        ? `"${ref}" refers to this step's own output, which does not exist yet`
        : `forward reference "${ref}": step "${first ?? ''}" runs after this one`;
    }
    default:
      return `unknown reference "${ref}": references start with fault, params, steps or incident`;
  }
}

function templateProblems(action: Action, path: Path, runbook: Runbook, index: number, selfAllowed: boolean): Problem[] {
  const problems: Problem[] = [];
  for (const leaf of stringLeaves(action, path)) {
    if (!leaf.value.includes('{{')) continue;
    let refs: string[];
    try {
      refs = templateReferences(leaf.value);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push({ path: leaf.path, message: err.message });
      continue;
    }
    for (const ref of refs) {
      const message = referenceProblem(ref, runbook, index, selfAllowed);
      if (message) problems.push({ path: leaf.path, message });
    }
  }
  return problems;
}

/** Template, condition and allow-list checks over a schema-valid runbook. */
function semanticProblems(runbook: Runbook): Problem[] {
  const problems: Problem[] = [];
  for (const [name, value] of Object.entries(runbook.params)) {
    if (typeof value === 'string' && value.includes('{{')) {
      problems.push({ path: ['params', name], message: 'params are constants: templates are not resolved in them' });
    }
  }
  runbook.steps.forEach((step: Step, i) => {
    const base: Path = ['steps', i];
    problems.push(...templateProblems(step.action, [...base, 'action'], runbook, i, false));
    if (step.compensate) problems.push(...templateProblems(step.compensate, [...base, 'compensate'], runbook, i, true));
    if (step.when) {
      for (const { ref, path } of conditionReferences(step.when, [...base, 'when'])) {
        const message = referenceProblem(ref, runbook, i, false);
        if (message) problems.push({ path, message });
      }
    }
    const allowed = runbook.settings.allowed_executables;
    const lists = [...argvLists(step.action, [...base, 'action'])];
    if (step.compensate) lists.push(...argvLists(step.compensate, [...base, 'compensate']));
    for (const { argv, path } of lists) {
      const exe = argv[0] ?? '';
      // The runner refuses every command of a runbook without an allow-list.
      if (allowed === undefined) {
        problems.push({ path: [...path, 0], message: 'commands need settings.allowed_executables to name their program' });
      } else if (exe.includes('{{')) {
        problems.push({ path: [...path, 0], message: 'argv[0] cannot be a template when allowed_executables is set' });
      } else if (!allowed.includes(exe)) {
        problems.push({ path: [...path, 0], message: `"${exe}" is not in settings.allowed_executables` });
      }
    }
  });
  return problems;
}

interface Analysis {
  result: LoadResult;
  locator?: Locator;
}

function analyse(text: string, fileName: string): Analysis {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const toError = (line: number, column: number, path: readonly PropertyKey[], message: string): RunbookError => ({
    file: fileName,
    line,
    column,
    path: formatPath(path),
    message,
  });
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((e) => {
      const pos = lines.linePos(e.pos[0]);
      return toError(pos.line, pos.col, [], `YAML syntax error: ${e.message.split('\n')[0] ?? e.message}`);
    });
    return { result: { ok: false, errors } };
  }
  const locator = new Locator(doc, lines);
  const fail = (problems: Problem[]): Analysis => {
    const errors = problems
      .map((p) => {
        const { line, column } = locator.locate(p.path);
        return toError(line, column, p.path, p.message);
      })
      .sort((a, b) => a.line - b.line || a.column - b.column);
    return { result: { ok: false, errors }, locator };
  };
  const parsed = Runbook.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) return fail(issueProblems(parsed.error.issues));
  const runbook = parsed.data;
  const problems = [...checkFencing(runbook), ...semanticProblems(runbook)];
  if (problems.length > 0) return fail(problems);
  return { result: { ok: true, runbook, hash: contentHash(runbook), source: fileName }, locator };
}

/**
 * Parses and checks runbook YAML: schema, fencing rule, template and condition
 * references. Errors carry the line of the offending field.
 */
export function loadRunbookText(text: string, fileName: string): LoadResult {
  return analyse(text, fileName).result;
}

function unreadable(file: string, err: unknown): LoadFailure {
  const reason = err instanceof Error ? err.message : String(err);
  return { ok: false, errors: [{ file, line: 0, column: 0, path: '', message: `cannot read runbook: ${reason}` }] };
}

/** Reads and checks one runbook file. */
export async function loadRunbookFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return unreadable(path, err);
  }
  return loadRunbookText(text, path);
}

/** Whether a file name looks like a runbook. */
export function isRunbookFileName(name: string): boolean {
  return /\.ya?ml$/i.test(name);
}

/**
 * Checks several runbook files together: each on its own, then that no two
 * valid ones share a name (the later file, in the order given, is blamed).
 */
export async function loadRunbookFiles(paths: readonly string[]): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  const owners = new Map<string, string>();
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      results.push(unreadable(path, err));
      continue;
    }
    const { result, locator } = analyse(text, path);
    if (result.ok && locator) {
      const owner = owners.get(result.runbook.name);
      if (owner !== undefined) {
        const { line, column } = locator.locate(['name']);
        results.push({
          ok: false,
          errors: [
            { file: path, line, column, path: 'name', message: `duplicate runbook name "${result.runbook.name}" (also in ${owner})` },
          ],
        });
        continue;
      }
      owners.set(result.runbook.name, path);
    }
    results.push(result);
  }
  return results;
}

/** Loads every `*.yaml` / `*.yml` file in a directory (not recursive), in name order; fails on any error or duplicate name. */
export async function loadRunbookDir(dir: string): Promise<{ ok: true; runbooks: LoadedRunbook[] } | LoadFailure> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isFile() && isRunbookFileName(d.name))
      .map((d) => d.name)
      .sort();
  } catch (err) {
    return unreadable(dir, err);
  }
  const results = await loadRunbookFiles(names.map((n) => join(dir, n)));
  const errors = results.flatMap((r) => (r.ok ? [] : r.errors));
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, runbooks: results.filter((r): r is LoadedRunbook => r.ok) };
}
