import type { IncidentInput } from '../schemas/incident-input';
import type { IncidentResult, IncidentState } from '../schemas/incident-state';
import { INCIDENT_MESSAGE_NAMES as NAMES } from '../schemas/incident-wire-names';

/*
 * The reads of one incident's workflow that `show`, `audit` and the API's
 * incident routes make, whichever client makes them: the SDK's
 * (incidents/read-incident.ts) or the lean gRPC reader the CLI uses
 * (incidents/incident-reads-grpc.ts). The rules of what to read live here once.
 */

/** Reads of one incident's workflow. */
export interface IncidentWorkflowReads {
  /** Its state: the live query's answer, or a completed incident's result. */
  state(incidentId: string): Promise<IncidentState>;
  /** Fault event ids absorbed, in arrival order, and the run they belong to. */
  faultIds(incidentId: string): Promise<{ runId: string; ids: string[] }>;
  /** Whether `err`, thrown by a read, says the workflow does not exist. */
  isNotFound(err: unknown): boolean;
}

/** The workflow calls {@link incidentStateFrom} makes. */
export interface IncidentStateCalls {
  status(incidentId: string): Promise<string>;
  result(incidentId: string): Promise<unknown>;
  queryState(incidentId: string): Promise<IncidentState>;
}

/**
 * An incident's state: from the live query, or for a closed incident from its
 * result, which needs no worker (a closed incident's task queue may have none).
 */
export async function incidentStateFrom(calls: IncidentStateCalls, incidentId: string): Promise<IncidentState> {
  if ((await calls.status(incidentId)) === 'COMPLETED') {
    const result = (await calls.result(incidentId)) as IncidentResult;
    if (result.state) return result.state;
  }
  return calls.queryState(incidentId);
}

/** The signals that carry a fault event: their ids join the audit's fault list. */
export const FAULT_SIGNALS: readonly string[] = [NAMES.faultObserved, NAMES.faultsObserved, NAMES.faultResolved];

/** A started or signal event of an incident's history; `input` holds its first payload decoded, or nothing when it has none. */
export type FaultIdEvent = { type: 'started'; originalExecutionRunId: string; input: [] | [unknown] } | { type: 'signaled'; signalName: string; input: [] | [unknown] };

/** Fault event ids in arrival order: the starting fault, then each observed or resolved fault signalled, once each. */
export function faultIdsFromEvents(events: Iterable<FaultIdEvent>): { runId: string; ids: string[] } {
  const ids: string[] = [];
  let runId = '';
  for (const event of events) {
    if (event.type === 'started') {
      runId = event.originalExecutionRunId;
      if (event.input.length > 0) ids.push((event.input[0] as IncidentInput).fault.id);
    } else if (FAULT_SIGNALS.includes(event.signalName)) {
      // A coalesced batch carries its events as one array argument, in publication order.
      const faults = event.input.length === 0 ? [] : Array.isArray(event.input[0]) ? (event.input[0] as unknown[]) : [event.input[0]];
      for (const fault of faults) {
        const id = (fault as { id?: string } | null)?.id;
        if (id && !ids.includes(id)) ids.push(id);
      }
    }
  }
  return { runId, ids };
}
