import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { IncidentResult } from '../schemas/incident-state';

/*
 * JetStream delivers at least once: an intake killed between Temporal's
 * acceptance and its ack, a hand-off that timed out after the server took
 * it, or a consumer leader lost before it replicated an ack all bring an
 * event back. An open incident drops a repeat itself (its ledger), but when
 * the incident that absorbed the event has closed meanwhile, a signal-with-
 * start would open a new incident for a fault already healed. So for a
 * redelivered event the intake first looks at the incident runs that closed
 * since the event was published.
 */

/** Closed runs looked at, newest first; a redelivery comes within minutes of its publication, so few runs can have closed since. */
export const MAX_RUNS_CHECKED = 20;
/** Allowance for the NATS and Temporal servers' clocks disagreeing (they may run on different hosts). */
export const CLOCK_SKEW_MS = 60_000;

/** The closed run of `incidentId` whose ledger holds `eventId`, if one closed after `publishedAt` does. */
export async function closedRunThatAbsorbed(client: Client, incidentId: string, eventId: string, publishedAt: Date): Promise<string | undefined> {
  const runIds = new Set<string>();
  try {
    // The current run, from the execution itself: visibility may not list a close that just happened.
    const current = await client.workflow.getHandle(incidentId).describe();
    if (current.status.name !== 'RUNNING') runIds.add(current.runId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const since = new Date(publishedAt.getTime() - CLOCK_SKEW_MS).toISOString();
  // SQL visibility files an open run's close time as the far future, so `CloseTime >=` alone would list it too.
  const query = `WorkflowId = '${incidentId}' AND ExecutionStatus != 'Running' AND CloseTime >= '${since}'`;
  for await (const run of client.workflow.list({ query, pageSize: MAX_RUNS_CHECKED })) {
    // result() of an open run would wait for its end.
    if (run.status.name !== 'RUNNING') runIds.add(run.runId);
    if (runIds.size >= MAX_RUNS_CHECKED) break;
  }
  for (const runId of runIds) {
    // A run that failed, was terminated or continued as new returns no ledger (a continued run's ledger went on into the next run).
    const result = (await client.workflow.getHandle(incidentId, runId, { followRuns: false }).result().catch(() => undefined)) as IncidentResult | undefined;
    const faults = result?.state?.faults;
    if (faults && (faults.recentEventIds.includes(eventId) || faults.firstEventId === eventId || faults.lastEventId === eventId)) return runId;
  }
  return undefined;
}
