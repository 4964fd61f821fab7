import { formatRatio } from './stats';
import type { BenchRow, BenchSection } from './report-types';

/** Where and when a run happened, for the report's header. */
export interface RunFacts {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  temporalCli: string;
  natsServer: string;
  smoke: boolean;
  durationS: number;
  command: string;
}

const cell = (text: string | undefined): string => (text ?? '—').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function met(row: BenchRow): string {
  if (row.met === undefined) return '—';
  return row.met ? 'yes' : '**no**';
}

function tableRow(row: BenchRow, section?: string): string {
  const lead = section === undefined ? [] : [section];
  const cells = [...lead, row.metric, row.value, row.floor, row.ratio === undefined ? undefined : formatRatio(row.ratio), row.target, met(row)];
  return `| ${cells.map(cell).join(' | ')} |`;
}

/** Renders the whole report as Markdown: facts, one summary table, then each benchmark's method and notes. */
export function renderReport(facts: RunFacts, sections: readonly BenchSection[], failures: readonly { id: string; error: string }[]): string {
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push('Written by `npm run bench` (`bench/run.ts`); every figure beside a floor measured in the same run, on the same machine.', '');
  if (facts.smoke) out.push('> **Smoke run**: tiny sample sizes that only prove the harness works. These figures measure nothing.', '');
  out.push('| | |', '|---|---|');
  out.push(`| date | ${facts.date} |`);
  out.push(`| machine | ${cell(facts.cpu)}, ${facts.cores} cores, ${facts.memoryGiB.toFixed(0)} GiB |`);
  out.push(`| software | Node ${facts.node}, Temporal CLI ${facts.temporalCli} (dev server, SQLite on disk), nats-server ${facts.natsServer} (JetStream on disk, fsync before ack) |`);
  out.push(`| command | \`${facts.command}\` (${facts.durationS.toFixed(0)} s) |`, '');
  out.push('Ratio: our figure over its floor for times and sizes, the floor over ours for rates; 1.00× means no overhead.', '');
  out.push('## Results', '');
  out.push('| benchmark | metric | ours | floor | ratio | target | met |', '|---|---|---|---|---|---|---|');
  for (const s of sections) for (const r of s.rows) out.push(tableRow(r, s.title));
  for (const f of failures) out.push(`| ${cell(f.id)} | **failed** | ${cell(f.error)} | | | | |`);
  out.push('');
  for (const s of sections) {
    out.push(`## ${s.title}`, '', s.method, '');
    out.push('| metric | ours | floor | ratio | target | met |', '|---|---|---|---|---|---|');
    for (const r of s.rows) out.push(tableRow(r));
    out.push('');
    if (s.notes.length > 0) {
      for (const n of s.notes) out.push(`- ${n}`);
      out.push('');
    }
  }
  if (failures.length > 0) {
    out.push('## Failures', '');
    for (const f of failures) out.push(`- \`${f.id}\`: ${f.error}`);
    out.push('');
  }
  return out.join('\n');
}
