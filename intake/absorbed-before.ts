import type { Client } from '@temporalio/client';
import type { IncidentResult } from '../schemas/incident-state';

/*
 * JetStream delivers at least once: an intake killed between Temporal's
 * acceptance and its ack, a hand-off that timed out after the server took
 * it, or a consumer leader lost before it replicated an ack all bring an
 * event back. An open incident drops a repeat itself (its ledger), but when
 * the incident that absorbed the event has closed meanwhile, a signal-with-
 * start would open a new incident for a fault already healed, and a signal
 * to a newer open run would count the fault twice. So for an event that may
 * have been handed on before, the intake first looks at the incident runs
 * that closed since the event was published.
 */

/** Closed runs looked at, newest first; a redelivery comes within minutes of its publication, so few runs can have closed since. */
export const MAX_RUNS_CHECKED = 20;
/** Allowance for the NATS and Temporal servers' clocks disagreeing (they may run on different hosts). */
export const CLOCK_SKEW_MS = 60_000;

/** Which of `eventIds` closed runs of the incident absorbed, and the newest such run. */
export interface AbsorbedBefore {
  ids: Set<string>;
  runId?: string;
}

/**
 * The ids among `eventIds` held by the ledger of a run of `incidentId` that
 * closed after `publishedAt`: `closedCurrent` (the execution's own run when
 * describe saw it closed, since visibility may not list a close that just
 * happened) and the runs visibility lists as closed since.
 */
export async function absorbedByClosedRuns(client: Client, incidentId: string, eventIds: readonly string[], publishedAt: Date, closedCurrent: string | undefined): Promise<AbsorbedBefore> {
  const runIds = new Set<string>(closedCurrent !== undefined ? [closedCurrent] : []);
  const since = new Date(publishedAt.getTime() - CLOCK_SKEW_MS).toISOString();
  // SQL visibility files an open run's close time as the far future, so `CloseTime >=` alone would list it too.
  const query = `WorkflowId = '${incidentId}' AND ExecutionStatus != 'Running' AND CloseTime >= '${since}'`;
  for await (const run of client.workflow.list({ query, pageSize: MAX_RUNS_CHECKED })) {
    // result() of an open run would wait for its end.
    if (run.status.name !== 'RUNNING') runIds.add(run.runId);
    if (runIds.size >= MAX_RUNS_CHECKED) break;
  }
  const found: AbsorbedBefore = { ids: new Set() };
  for (const runId of runIds) {
    // A run that failed, was terminated or continued as new returns no ledger (a continued run's ledger went on into the next run).
    const result = (await client.workflow.getHandle(incidentId, runId, { followRuns: false }).result().catch(() => undefined)) as IncidentResult | undefined;
    const faults = result?.state?.faults;
    if (!faults) continue;
    for (const id of eventIds) {
      if (faults.recentEventIds.includes(id) || faults.firstEventId === id || faults.lastEventId === id) {
        found.ids.add(id);
        found.runId ??= runId;
      }
    }
  }
  return found;
}
