import type { WorkflowExecutionInfo } from '@temporalio/client';
import { SA } from '../../schemas/search-attributes';
import { SAFE_ID_PATTERN } from '../../schemas/identifiers';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, temporalClient } from '../context';

const USAGE = 'runbook incidents [--service S] [--target T] [--status STATUS] [--since DURATION|ISO] [--open] [--limit N] [--json]';

const OPTIONS = {
  ...STACK_FLAGS,
  service: { type: 'string' },
  target: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  open: { type: 'boolean' },
  limit: { type: 'string', default: '50' },
  json: { type: 'boolean' },
} as const;

const STATUS_PATTERN = /^[a-z_]{1,32}$/;

/** One incident as listed. */
export interface IncidentSummary {
  incidentId: string;
  runId: string;
  workflowStatus: string;
  incidentStatus?: string;
  service?: string;
  target?: string;
  faultKind?: string;
  severity?: string;
  runbook?: string;
  startTime: string;
  closeTime?: string;
}

/** Parses `--since` as a duration back from now (`30m`, `2h`, `7d`) or an ISO time. */
export function sinceToIso(since: string, now: Date): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(since);
  if (m) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(m[1]) * unit).toISOString();
  }
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new CliError(`--since ${JSON.stringify(since)}: expected a duration such as 30m, 2h, 7d or an ISO date-time`);
  return new Date(t).toISOString();
}

/**
 * Builds the visibility query from validated filters; values are checked
 * against strict patterns first, so nothing user-typed can change the query.
 */
export function incidentsQuery(filters: { service?: string; target?: string; status?: string; since?: string; open?: boolean }): string {
  const parts = [`WorkflowType = 'incident'`];
  for (const [flag, attr, pattern] of [
    ['service', SA.service.name, SAFE_ID_PATTERN],
    ['target', SA.target.name, SAFE_ID_PATTERN],
    ['status', SA.incidentStatus.name, STATUS_PATTERN],
  ] as const) {
    const value = filters[flag];
    if (value === undefined) continue;
    if (!pattern.test(value)) throw new CliError(`--${flag} ${JSON.stringify(value)}: not a valid ${flag}`);
    parts.push(`${attr} = '${value}'`);
  }
  if (filters.since) parts.push(`StartTime >= '${filters.since}'`);
  if (filters.open) parts.push(`ExecutionStatus = 'Running'`);
  return parts.join(' AND ');
}

function summarize(wf: WorkflowExecutionInfo): IncidentSummary {
  const sa = wf.typedSearchAttributes;
  const get = (key: (typeof SA)[keyof typeof SA]): string | undefined => sa.get(key) ?? undefined;
  return {
    incidentId: wf.workflowId,
    runId: wf.runId,
    workflowStatus: wf.status.name,
    incidentStatus: get(SA.incidentStatus),
    service: get(SA.service),
    target: get(SA.target),
    faultKind: get(SA.faultKind),
    severity: get(SA.severity),
    runbook: get(SA.runbook),
    startTime: wf.startTime.toISOString(),
    closeTime: wf.closeTime?.toISOString(),
  };
}

/** Lists incidents matching the filters, newest first. */
export async function listIncidents(
  client: import('@temporalio/client').Client,
  query: string,
  limit: number,
): Promise<IncidentSummary[]> {
  const out: IncidentSummary[] = [];
  for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
    out.push(summarize(wf));
    if (out.length >= limit) break;
  }
  return out;
}

/** `runbook incidents`: incidents from Temporal visibility, filterable by search attributes. */
export const incidentsCommand: CliCommand = {
  name: 'incidents',
  summary: 'list incidents (filter by service, target, status, time)',
  usage: USAGE,
  async run(args) {
    const { values } = parseFlags(args, OPTIONS, USAGE);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit ${values.limit}: expected a positive integer`);
    const query = incidentsQuery({
      service: values.service,
      target: values.target,
      status: values.status,
      since: values.since ? sinceToIso(values.since, new Date()) : undefined,
      open: values.open,
    });
    const { client, close } = await temporalClient(cliConfig(flagsToConfig(values)));
    try {
      const incidents = await listIncidents(client, query, limit);
      if (values.json) {
        process.stdout.write(`${JSON.stringify(incidents, null, 2)}\n`);
        return 0;
      }
      if (incidents.length === 0) {
        process.stdout.write('no incidents\n');
        return 0;
      }
      const rows = incidents.map((i) => [i.incidentId, i.incidentStatus ?? '-', i.severity ?? '-', i.faultKind ?? '-', i.runbook ?? '-', i.startTime]);
      const header = ['INCIDENT', 'STATUS', 'SEVERITY', 'KIND', 'RUNBOOK', 'STARTED'];
      const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
      for (const row of [header, ...rows]) process.stdout.write(`${row.map((v, c) => (v ?? '').padEnd(widths[c] ?? 0)).join('  ').trimEnd()}\n`);
      return 0;
    } finally {
      await close();
    }
  },
};
