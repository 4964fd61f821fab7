import { decodePayload, enumName, type TemporalHttpClient } from '../platform/temporal-http';
import { INCIDENT_SEARCH_ATTRIBUTE_NAMES as SA_NAMES } from '../schemas/incident-wire-names';
import type { IncidentSummary } from './list-incidents';

/*
 * listIncidents (list-incidents.ts) over Temporal's HTTP API, with the same
 * answers: what `runbook incidents` uses so it never loads the Temporal SDK.
 * Only the list: the routes that name one workflow (describe, query,
 * history) take its id as one path segment, and the gateways of Temporal
 * 1.29.1 and 1.32.2 decode %2F before they match routes, so an incident id
 * (`incident/<service>/<target>`) never reaches them; reading one incident
 * goes over gRPC (incident-reads-grpc.ts).
 */

type Json = Record<string, unknown>;

function record(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A protobuf JSON timestamp as the SDK's Date prints it (milliseconds). */
function isoTime(value: unknown): string | undefined {
  const t = text(value);
  return t === undefined ? undefined : new Date(t).toISOString();
}

/** A Keyword search attribute's value; the SDK's typed attributes give undefined for one that is unset or not a string. */
function keyword(fields: Json, name: string): string | undefined {
  if (fields[name] === undefined) return undefined;
  const value = decodePayload(fields[name]);
  return typeof value === 'string' ? value : undefined;
}

/** One execution of a ListWorkflowExecutions answer, as listIncidents summarizes it. */
export function summarizeExecution(raw: unknown): IncidentSummary {
  const wf = record(raw);
  const execution = record(wf.execution);
  const fields = record(record(wf.searchAttributes).indexedFields);
  const startTime = isoTime(wf.startTime);
  if (startTime === undefined) throw new Error(`execution ${String(execution.workflowId)} has no start time`);
  const closeTime = isoTime(wf.closeTime);
  return {
    incidentId: String(execution.workflowId),
    runId: String(execution.runId),
    workflowStatus: enumName(wf.status, 'WORKFLOW_EXECUTION_STATUS_') ?? 'UNSPECIFIED',
    incidentStatus: keyword(fields, SA_NAMES.incidentStatus),
    service: keyword(fields, SA_NAMES.service),
    target: keyword(fields, SA_NAMES.target),
    faultKind: keyword(fields, SA_NAMES.faultKind),
    severity: keyword(fields, SA_NAMES.severity),
    runbook: keyword(fields, SA_NAMES.runbook),
    startTime,
    closeTime,
  };
}

/** listIncidents over HTTP: the incidents a visibility query matches, in the server's order, at most `limit`. */
export async function listIncidentsOverHttp(client: TemporalHttpClient, query: string, limit: number): Promise<IncidentSummary[]> {
  const out: IncidentSummary[] = [];
  let nextPageToken: string | undefined;
  do {
    const page = record(await client.call('GET', ['workflows'], { query, pageSize: Math.min(limit, 1000), nextPageToken }));
    for (const wf of Array.isArray(page.executions) ? page.executions : []) {
      out.push(summarizeExecution(wf));
      if (out.length >= limit) return out;
    }
    nextPageToken = text(page.nextPageToken);
  } while (nextPageToken !== undefined);
  return out;
}
