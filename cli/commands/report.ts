import { resolve } from 'node:path';
import { readAuditWindow } from '../../audit/audit-stream';
import { availabilityReport, incidentSpans, type AvailabilityFigures, type AvailabilityReport, type ObjectiveGrade } from '../../audit/availability';
import { AVAILABILITY_EVENTS, drillOutcomes } from '../../audit/drill-reports';
import { loadObjectivesFileIfPresent } from '../../config/objectives';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, natsConnection } from '../context';
import { formatTable } from '../table';
import { terminalJson, terminalText } from '../../observability/terminal-text';

const USAGE = 'runbook report [--service S] [--since 30d | --since <ISO time>] [--until <ISO time>] [--objectives-file FILE] [--json]';

const SINCE_UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: a look-back such as `30d`, `12h`, `90m`, or an ISO 8601 time. */
export function parseSince(value: string, now: number): number {
  const m = /^([1-9][0-9]*)([smhd])$/.exec(value);
  if (m?.[1] && m[2]) return now - Number(m[1]) * (SINCE_UNIT_MS[m[2]] ?? 0);
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new CliError(`--since: expected a look-back like 30d, 12h, 90m or an ISO time, got "${value}"\nusage: ${USAGE}`);
  return t;
}

function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)}s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)}m`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(3).replace(/\.?0+$/, '')}%`);

function row(name: string, f: AvailabilityFigures): string[] {
  return [
    name,
    String(f.incidents),
    String(f.failures),
    percent(f.availability),
    duration(f.downtimeMs),
    `${duration(f.mttr.p50Ms)} / ${duration(f.mttr.p90Ms)}`,
    duration(f.mtbfMs),
    f.healed === 0 ? '-' : `${f.healedWithoutHuman}/${f.healed}`,
    `${duration(f.approvalWait.p50Ms)} / ${duration(f.approvalWait.p90Ms)}`,
    `${f.drills.passed}/${f.drills.run}`,
  ];
}

function grade(g: ObjectiveGrade): string {
  const shown = g.objective === 'mttr' || g.objective === 'mtbf' ? (v: number | null) => duration(v) : percent;
  const verdict = g.met === null ? 'no data' : g.met ? 'met' : 'MISSED';
  const sense = g.objective === 'mttr' ? 'at most' : 'at least';
  return `${g.objective} ${shown(g.actual)} (${sense} ${shown(g.target)}): ${verdict}`;
}

/** The report as text: a table per service, then outcomes and objectives. */
export function renderReportText(r: AvailabilityReport, truncated: boolean): string {
  const header = ['SERVICE', 'INCIDENTS', 'FAILURES', 'AVAILABILITY', 'DOWNTIME', 'MTTR P50/P90', 'MTBF', 'HEALED ALONE', 'APPROVAL P50/P90', 'DRILLS'];
  const rows = r.services.map((s) => row(s.service, s));
  if (r.services.length !== 1) rows.push(row('(all)', r.total));
  const lines = [`period ${r.period.from} .. ${r.period.to} (${duration(r.period.ms)})${truncated ? '; TRUNCATED: more audit events than were read' : ''}`, '', formatTable(header, rows).trimEnd(), ''];
  for (const s of r.services) {
    const outcomes = Object.entries(s.byOutcome).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    lines.push(terminalText(`${s.service}: outcomes ${outcomes}${s.dryRuns ? `; dry runs ${s.dryRuns}` : ''}${s.scheduledRuns ? `; scheduled runs ${s.scheduledRuns}` : ''}`));
    for (const g of s.objectives) lines.push(`  ${grade(g)}`);
  }
  const d = r.total.drills;
  lines.push(`drills: ${d.passed}/${d.run} passed, ${d.incidents} drill incident run(s); ${d.note}`);
  return `${lines.join('\n')}\n`;
}

/** `runbook report`: availability, MTTR, MTBF and approval times over a period, from the audit stream. */
export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'availability report from the audit stream: outcomes, MTTR, MTBF, availability, objectives',
  usage: USAGE,
  async run(args) {
    const options = { ...STACK_FLAGS, service: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, 'objectives-file': { type: 'string' }, json: { type: 'boolean' } } as const;
    const { values, positionals } = parseFlags(args, options, USAGE);
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0] ?? ''}"\nusage: ${USAGE}`);
    const { service, since, until, json, ...rest } = values;
    if (service !== undefined && service.trim() === '') throw new CliError(`--service: must not be empty\nusage: ${USAGE}`);
    const config = cliConfig(flagsToConfig(rest));
    const now = Date.now();
    const to = until === undefined ? now : parseSince(until, now);
    const from = parseSince(since ?? '30d', to);
    if (from >= to) throw new CliError(`--since: must be before ${until === undefined ? 'now' : '--until'}`);
    const objectives = await loadObjectivesFileIfPresent(resolve(config.objectivesFile));
    const nc = await natsConnection(config, 'operator');
    try {
      const window = await readAuditWindow(nc, { since: new Date(from), events: AVAILABILITY_EVENTS, ...(service !== undefined ? { service } : {}) });
      const drills = drillOutcomes(window.events);
      const report = availabilityReport(incidentSpans(window.events), { from, to, objectives, drills, ...(service !== undefined ? { service } : {}) });
      process.stdout.write(json ? `${terminalJson({ ...report, truncated: window.truncated }, 2)}\n` : renderReportText(report, window.truncated));
      return 0;
    } finally {
      await nc.close();
    }
  },
};
