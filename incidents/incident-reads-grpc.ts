import { WorkflowNotFoundOverGrpcError, type TemporalGrpcReads } from '../platform/temporal-grpc-reads';
import type { IncidentState } from '../schemas/incident-state';
import { INCIDENT_MESSAGE_NAMES as NAMES } from '../schemas/incident-wire-names';
import { FAULT_SIGNALS, faultIdsFromEvents, incidentStateFrom, type IncidentWorkflowReads } from './incident-workflow-reads';

/**
 * An incident's reads over the lean gRPC reader (platform/temporal-grpc-reads.ts):
 * what `runbook show` and `runbook audit` use, so they never load the Temporal
 * SDK. The answers and error messages are the SDK client's (read-incident.ts).
 */
export function grpcIncidentReads(reads: TemporalGrpcReads): IncidentWorkflowReads {
  const calls = {
    status: (id: string) => reads.status(id),
    result: (id: string) => reads.result(id),
    queryState: async (id: string) => (await reads.query(id, NAMES.stateQuery)) as IncidentState,
  };
  return {
    state: (id) => incidentStateFrom(calls, id),
    faultIds: async (id) => faultIdsFromEvents(await reads.history(id, FAULT_SIGNALS)),
    isNotFound: (err) => err instanceof WorkflowNotFoundOverGrpcError,
  };
}
