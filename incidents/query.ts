import { INCIDENT_SEARCH_ATTRIBUTE_NAMES as SA_NAMES } from '../schemas/incident-wire-names';
import { SAFE_ID_PATTERN } from '../schemas/identifiers';

/** Filters for listing incidents, as the CLI flags and the API query string give them. */
export interface IncidentFilters {
  service?: string;
  target?: string;
  status?: string;
  /** An ISO date-time (see {@link sinceToIso}). */
  since?: string;
  open?: boolean;
}

/** A filter value that cannot be used; `message` starts with the filter's name. */
export class InvalidFilterError extends Error {
  override name = 'InvalidFilterError';
  constructor(
    readonly filter: keyof IncidentFilters,
    detail: string,
  ) {
    super(`${filter} ${detail}`);
  }
}

const STATUS_PATTERN = /^[a-z_]{1,32}$/;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses a `since` filter: a duration back from `now` (`30m`, `2h`, `7d`) or an ISO time. */
export function sinceToIso(since: string, now: Date): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(since);
  if (m) return new Date(now.getTime() - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]).toISOString();
  const t = Date.parse(since);
  if (Number.isNaN(t)) throw new InvalidFilterError('since', `${JSON.stringify(since)}: expected a duration such as 30m, 2h, 7d or an ISO date-time`);
  return new Date(t).toISOString();
}

/**
 * Builds the visibility query from the filters; values are checked against
 * strict patterns first, so nothing user-typed can change the query.
 */
export function incidentsQuery(filters: IncidentFilters): string {
  const parts = [`WorkflowType = 'incident'`];
  for (const [filter, attr, pattern] of [
    ['service', SA_NAMES.service, SAFE_ID_PATTERN],
    ['target', SA_NAMES.target, SAFE_ID_PATTERN],
    ['status', SA_NAMES.incidentStatus, STATUS_PATTERN],
  ] as const) {
    const value = filters[filter];
    if (value === undefined) continue;
    if (!pattern.test(value)) throw new InvalidFilterError(filter, `${JSON.stringify(value)}: not a valid ${filter}`);
    parts.push(`${attr} = '${value}'`);
  }
  if (filters.since) parts.push(`StartTime >= '${filters.since}'`);
  if (filters.open) parts.push(`ExecutionStatus = 'Running'`);
  return parts.join(' AND ');
}
