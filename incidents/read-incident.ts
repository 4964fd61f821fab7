import type { Client } from '@temporalio/client';
import type { IncidentResult, IncidentState } from '../schemas/incident-state';
import { incidentState } from '../workflows/messages';

/**
 * An incident's state: from the live query, or for a closed incident from its
 * result, which needs no worker (a closed incident's task queue may have none).
 */
export async function readIncidentState(client: Client, incidentId: string): Promise<IncidentState> {
  const handle = client.workflow.getHandle(incidentId);
  const desc = await handle.describe();
  if (desc.status.name === 'COMPLETED') {
    const result = (await handle.result()) as IncidentResult;
    if (result.state) return result.state;
  }
  return handle.query(incidentState);
}
