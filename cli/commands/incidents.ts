import { incidentsQuery, InvalidFilterError, sinceToIso, type IncidentFilters } from '../../incidents/query';
import { flagsToConfig, parseFlags, STACK_FLAGS, type CliCommand } from '../command';
import { CliError, cliConfig, listIncidentsFor } from '../context';
import { formatTable } from '../table';
import { terminalJson } from '../../observability/terminal-text';

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

/** The visibility query for the flags; a bad value is reported as the flag that carried it. */
function flagsToQuery(flags: IncidentFilters): string {
  try {
    return incidentsQuery({ ...flags, since: flags.since ? sinceToIso(flags.since, new Date()) : undefined });
  } catch (err) {
    if (err instanceof InvalidFilterError) throw new CliError(`--${err.message}`);
    throw err;
  }
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
    const query = flagsToQuery({ service: values.service, target: values.target, status: values.status, since: values.since, open: values.open });
    const incidents = await listIncidentsFor(cliConfig(flagsToConfig(values)), query, limit);
    if (values.json) {
      process.stdout.write(`${terminalJson(incidents, 2)}\n`);
      return 0;
    }
    if (incidents.length === 0) {
      process.stdout.write('no incidents\n');
      return 0;
    }
    const rows = incidents.map((i) => [i.incidentId, i.incidentStatus ?? '-', i.severity ?? '-', i.faultKind ?? '-', i.runbook ?? '-', i.startTime]);
    process.stdout.write(formatTable(['INCIDENT', 'STATUS', 'SEVERITY', 'KIND', 'RUNBOOK', 'STARTED'], rows));
    return 0;
  },
};
