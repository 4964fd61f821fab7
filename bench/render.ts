import { formatRatio } from './stats';
import type { StackKind } from './bench-stack';
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
  /** Set when the run covered the cluster stack. */
  temporalServer?: string;
  postgres?: string;
  /** The stacks the run covered and their engines, in run order. */
  stacks: { kind: StackKind; engines: string }[];
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
  const ratio = row.ratio === undefined ? undefined : `${formatRatio(row.ratio)}${row.ratioIs === 'speed-up' ? ' speed-up' : ''}`;
  const cells = [...lead, row.metric, row.value, row.floor, ratio, row.target, met(row)];
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
  const cluster = facts.temporalServer ? `, Temporal server ${facts.temporalServer}, PostgreSQL ${facts.postgres ?? '?'}` : '';
  out.push(`| software | Node ${facts.node}, Temporal CLI ${facts.temporalCli}, nats-server ${facts.natsServer}${cluster} |`);
  for (const s of facts.stacks) out.push(`| ${s.kind} stack | ${cell(s.engines)} |`);
  out.push(`| command | \`${facts.command}\` (${facts.durationS.toFixed(0)} s) |`, '');
  out.push('Ratio: our figure over its floor for times and sizes, the floor over ours for rates; 1.00× means no overhead. A speed-up is the other way round: our rate over the floor\'s, higher is better.', '');
  // With more than one stack in the run, every title says which one it ran on.
  const titled = facts.stacks.length > 1 ? sections.map((s) => ({ ...s, title: `${s.title} (${s.stack ?? 'embedded'})` })) : sections;
  out.push('## Results', '');
  out.push('| benchmark | metric | ours | floor | ratio | target | met |', '|---|---|---|---|---|---|---|');
  for (const s of titled) for (const r of s.rows) out.push(tableRow(r, s.title));
  for (const f of failures) out.push(`| ${cell(f.id)} | **failed** | ${cell(f.error)} | | | | |`);
  out.push('');
  for (const s of titled) {
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
