import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { shortHash } from '../../engine/content-hash';
import { formatRunbookErrors, isRunbookFileName, loadRunbookFiles, type RunbookError } from '../../engine/load-runbook';
import { parseFlags, type CliCommand } from '../command';

const USAGE = 'runbook validate [--json] [FILE|DIR ...]  (default: runbooks/)';

/** Where the command writes; the process streams unless a caller passes others. */
export interface ValidateOutput {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** One file's outcome in the JSON report. */
export interface ValidateReportEntry {
  file: string;
  ok: boolean;
  name?: string;
  version?: number;
  hash?: string;
  errors?: RunbookError[];
}

/** Files named directly, plus the runbook files inside named directories, in name order. */
async function expand(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(path)).filter(isRunbookFileName).sort();
      files.push(...names.map((n) => join(path, n)));
    } else {
      files.push(path);
    }
  }
  return files;
}

/**
 * Checks runbook files (directories are expanded to their `*.yaml|*.yml`).
 * Prints `OK <file> (<name> v<version>, hash <short>)` per valid file and
 * `file:line: field: message` per error on stderr, or one JSON report on
 * stdout. Returns 0 when every file is valid, 1 otherwise.
 */
export async function validateCommand(
  files: string[],
  opts: { json: boolean },
  out: ValidateOutput = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const paths = await expand(files);
  const results = await loadRunbookFiles(paths);
  const report: ValidateReportEntry[] = results.map((r, i) => {
    const file = paths[i] ?? '';
    return r.ok
      ? { file, ok: true, name: r.runbook.name, version: r.runbook.version, hash: r.hash }
      : { file, ok: false, errors: r.errors };
  });
  const ok = report.length > 0 && report.every((e) => e.ok);
  if (opts.json) {
    out.stdout.write(`${JSON.stringify({ ok, files: report }, null, 2)}\n`);
  } else {
    if (report.length === 0) out.stderr.write('no runbook files found\n');
    for (const entry of report) {
      if (entry.ok) {
        out.stdout.write(`OK ${entry.file} (${entry.name} v${entry.version}, hash ${shortHash(entry.hash ?? '')})\n`);
      } else {
        out.stderr.write(`${formatRunbookErrors(entry.errors ?? [])}\n`);
      }
    }
  }
  return ok ? 0 : 1;
}

/** `runbook validate`: checks runbook files without running anything. */
export const validateCli: CliCommand = {
  name: 'validate',
  summary: 'check runbook files: schema, fencing, templates',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, { json: { type: 'boolean' } }, USAGE);
    return validateCommand(positionals.length > 0 ? positionals : ['runbooks'], { json: values.json === true });
  },
};
