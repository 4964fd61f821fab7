import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { IncidentState } from '../schemas/incident-state';
import { incidentState } from '../workflows/messages';
import { FAULT_SIGNALS, faultIdsFromEvents, incidentStateFrom, type FaultIdEvent, type IncidentWorkflowReads } from './incident-workflow-reads';

/** The state calls over the SDK client. */
function stateCalls(client: Client): Parameters<typeof incidentStateFrom>[0] {
  return {
    status: async (id) => (await client.workflow.getHandle(id).describe()).status.name,
    result: (id) => client.workflow.getHandle(id).result() as Promise<unknown>,
    queryState: (id) => client.workflow.getHandle(id).query(incidentState),
  };
}

/**
 * An incident's state: from the live query, or for a closed incident from its
 * result, which needs no worker (a closed incident's task queue may have none).
 */
export function readIncidentState(client: Client, incidentId: string): Promise<IncidentState> {
  return incidentStateFrom(stateCalls(client), incidentId);
}

/** Fault event ids absorbed, in arrival order, from the workflow history. */
export async function faultIdsFromHistory(client: Client, incidentId: string): Promise<{ runId: string; ids: string[] }> {
  const history = await client.workflow.getHandle(incidentId).fetchHistory();
  const events: FaultIdEvent[] = [];
  for (const event of history.events ?? []) {
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      const payload = started.input?.payloads?.[0];
      events.push({ type: 'started', originalExecutionRunId: started.originalExecutionRunId ?? '', input: payload ? [defaultPayloadConverter.fromPayload(payload)] : [] });
    }
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal && FAULT_SIGNALS.includes(signal.signalName ?? '')) {
      const payload = signal.input?.payloads?.[0];
      events.push({ type: 'signaled', signalName: signal.signalName ?? '', input: payload ? [defaultPayloadConverter.fromPayload(payload)] : [] });
    }
  }
  return faultIdsFromEvents(events);
}

/** An incident's reads over the SDK client (the API; the CLI with RUNBOOK_TEMPORAL_HTTP=false). */
export function sdkIncidentReads(client: Client): IncidentWorkflowReads {
  return {
    state: (id) => readIncidentState(client, id),
    faultIds: (id) => faultIdsFromHistory(client, id),
    isNotFound: (err) => err instanceof WorkflowNotFoundError,
  };
}
