import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { fullIncidentId } from '../incidents/incident-ref';
import { incidentsQuery, sinceToIso } from '../incidents/query';

/*
 * How a request names incidents, shared by every route that reads them
 * (the list, one incident, its audit record, the live events).
 */

/** The filters of GET /incidents (and GET /events), as a query string gives them. */
export const IncidentFilterQuery = z.object({
  service: z.string().optional(),
  status: z.string().optional(),
  since: z.string().optional(),
  open: z.enum(['true', 'false']).optional(),
});
export type IncidentFilterQuery = z.infer<typeof IncidentFilterQuery>;

/** The visibility query for those filters; a relative `since` counts back from `now`. Throws InvalidFilterError. */
export function filterToQuery(q: IncidentFilterQuery, now = new Date()): string {
  return incidentsQuery({
    ...(q.service ? { service: q.service } : {}),
    ...(q.status ? { status: q.status } : {}),
    ...(q.since ? { since: sinceToIso(q.since, now) } : {}),
    open: q.open === 'true',
  });
}

/** A scheduled run's incident has a third segment: incident/<service>/<target>/<runbook>-<time>. */
const INCIDENT_ID = /^incident\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)?$/;

/** The three spellings of an incident in a path: the whole id URL-encoded, `<service>/<target>`, or with the run segment too. */
export const ID_FORMS = [
  { path: ':id', params: z.object({ id: z.string() }) },
  { path: ':service/:target', params: z.object({ service: z.string(), target: z.string() }) },
  { path: ':service/:target/:run', params: z.object({ service: z.string(), target: z.string(), run: z.string() }) },
] as const;

/** The full incident id a short or full spelling names, or undefined when it names none. */
export function incidentIdFrom(raw: string): string | undefined {
  try {
    const id = fullIncidentId(raw);
    return INCIDENT_ID.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The incident id the path parameters of one of {@link ID_FORMS} name. */
export function incidentIdOf(params: Record<string, string>): string | undefined {
  return incidentIdFrom(params['id'] ?? [params['service'], params['target'], params['run']].filter((p) => p !== undefined).join('/'));
}

export function notAnIncident(reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ error: 'not an incident id' });
}
