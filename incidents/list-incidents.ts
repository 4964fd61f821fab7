import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { SA } from '../schemas/search-attributes';

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

/** Lists the incidents a visibility query (see `incidentsQuery`) matches, newest first, at most `limit`. */
export async function listIncidents(client: Client, query: string, limit: number): Promise<IncidentSummary[]> {
  const out: IncidentSummary[] = [];
  for await (const wf of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
    out.push(summarize(wf));
    if (out.length >= limit) break;
  }
  return out;
}
