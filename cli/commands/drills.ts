import { drillSummary, drillTrend, listDrillReports, readDrillReport, type DrillTrend, type Spread } from '../../audit/drill-reports';
import { renderDrillReportMarkdown } from '../../audit/render-drill-report';
import { formatMs } from '../../engine/drill-grading';
import type { DrillReport } from '../../schemas/drill-report';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, natsConnection } from '../context';
import { formatTable } from '../table';
import { terminalJson, terminalStrings, terminalText } from '../../observability/terminal-text';
import { parseSince } from './report';

const USAGE = 'runbook drills [list] [--runbook R] [--service S] [--since 30d] [--json] | runbook drills show <drillId> [--json]';

const OPTIONS = { ...STACK_FLAGS, runbook: { type: 'string' }, service: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' } } as const;

const ms = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : formatMs(v));
const spread = (s: Spread): string => (s.count === 0 ? '-' : `${ms(s.minMs)} / ${ms(s.p50Ms)} / ${ms(s.maxMs)}`);

/** The listing: one line per drill, newest first, then each runbook's trend. */
export function renderDrillList(reports: readonly DrillReport[], trend: readonly DrillTrend[]): string {
  if (reports.length === 0) return 'no drill reports\n';
  const rows = reports.map((r) => [r.startedAt, r.runbook.name, `${r.service}/${r.target}`, `${r.result}${r.dryRun ? ' (dry run)' : ''}`, ms(r.measurements.rtoMs), ms(r.measurements.rpoMs), r.drillId]);
  const lines = [formatTable(['WHEN', 'RUNBOOK', 'TARGET', 'RESULT', 'RTO', 'RPO', 'DRILL'], rows).trimEnd(), ''];
  const window = trend[0]?.window ?? 0;
  const trendRows = trend.map((t) => [t.runbook, String(t.count), String(t.passed), `${t.lastResult} ${t.lastAt}`, spread(t.rto), spread(t.rpo)]);
  lines.push(`trend (RTO and RPO over each runbook's last ${window} drills, min / p50 / max):`, formatTable(['RUNBOOK', 'DRILLS', 'PASSED', 'LAST', 'RTO', 'RPO'], trendRows).trimEnd());
  return `${lines.join('\n')}\n`;
}

/** `runbook drills`: past drills and their trend, or one drill's report, from the audit stream. */
export const drillsCommand: CliCommand = {
  name: 'drills',
  summary: 'past drills from the audit stream: list them with the RTO/RPO trend per runbook, or show one report',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseFlags(args, OPTIONS, USAGE);
    const [sub = 'list', id, extra] = positionals;
    if (sub !== 'list' && sub !== 'show') throw new CliError(`unknown subcommand "${sub}"\nusage: ${USAGE}`);
    if (extra !== undefined || (sub === 'list' && id !== undefined)) throw new CliError(`unexpected argument "${extra ?? id ?? ''}"\nusage: ${USAGE}`);
    const { runbook, service, since, json, ...rest } = values;
    for (const [flag, v] of [['--runbook', runbook], ['--service', service]] as const) {
      if (v !== undefined && v.trim() === '') throw new CliError(`${flag}: must not be empty\nusage: ${USAGE}`);
    }
    if (sub === 'show' && (id === undefined || !id.startsWith('drill/'))) throw new CliError(`show: expected a drill id (drill/<service>/<target>/<runbook>/<stamp>)\nusage: ${USAGE}`);
    const from = since === undefined ? undefined : parseSince(since, Date.now());
    const config = cliConfig(flagsToConfig(rest));
    const nc = await natsConnection(config, 'operator');
    try {
      if (sub === 'show' && id !== undefined) {
        const report = await readDrillReport(nc, id);
        if (!report) throw new CliError(`the audit stream holds no report of ${terminalText(id)}`, 1);
        process.stdout.write(json ? `${terminalJson(report, 2)}\n` : renderDrillReportMarkdown(terminalStrings(report)));
        return 0;
      }
      const { reports, invalid, truncated } = await listDrillReports(nc, {
        ...(runbook !== undefined ? { runbook } : {}),
        ...(service !== undefined ? { service } : {}),
        ...(from !== undefined ? { since: new Date(from) } : {}),
      });
      const trend = drillTrend(reports);
      if (json) process.stdout.write(`${terminalJson({ drills: reports.map(drillSummary), trend, invalid, truncated }, 2)}\n`);
      else {
        const notes = [...(invalid ? [`${invalid} stored report(s) did not parse and are left out`] : []), ...(truncated ? ['TRUNCATED: more reports are stored than were read; narrow with --since'] : [])];
        process.stdout.write(`${renderDrillList(reports, trend)}${notes.map((n) => `${n}\n`).join('')}`);
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
