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

/** Longest wait for visibility to list the open run before its closed predecessors are trusted to be listed too. */
export const VISIBILITY_CATCH_UP_MS = 10_000;
const CATCH_UP_POLL_MS = 200;

/** Visibility did not list the incident's open run in time, so runs that closed before it may be missing too. */
export class VisibilityBehindError extends Error {
  override name = 'VisibilityBehindError';
}

/** Which of `eventIds` closed runs of the incident absorbed, and the newest such run. */
export interface AbsorbedBefore {
  ids: Set<string>;
  runId?: string;
}

/**
 * Waits until visibility lists `runId`. The run that absorbed an event and
 * closed is older than the open run describe sees, so once visibility has
 * taken in the open run's start it has, in all but a reordering of its own
 * queue, taken in that older close as well. Throws VisibilityBehindError
 * past the bound: the caller then nacks, and the event is looked at again later.
 */
async function visibilityHasRun(client: Client, incidentId: string, runId: string): Promise<void> {
  const deadline = Date.now() + VISIBILITY_CATCH_UP_MS;
  for (;;) {
    for await (const run of client.workflow.list({ query: `WorkflowId = '${incidentId}' AND RunId = '${runId}'`, pageSize: 1 })) {
      if (run.runId === runId) return;
    }
    if (Date.now() >= deadline) throw new VisibilityBehindError(`visibility has not listed ${incidentId} run ${runId} within ${VISIBILITY_CATCH_UP_MS} ms; the runs closed before it cannot be trusted to be listed yet`);
    await new Promise((res) => setTimeout(res, CATCH_UP_POLL_MS));
  }
}

/**
 * The ids among `eventIds` held by the ledger of a run of `incidentId` that
 * closed after `publishedAt`: the execution's current run when describe saw
 * it closed (visibility may not list a close that just happened), and the
 * runs visibility lists as closed since, read once visibility lists the
 * current run when it is open (a newer run hides an older close only while
 * visibility is behind).
 */
export async function absorbedByClosedRuns(client: Client, incidentId: string, eventIds: readonly string[], publishedAt: Date, current: { runId: string; open: boolean }): Promise<AbsorbedBefore> {
  if (current.open) await visibilityHasRun(client, incidentId, current.runId);
  const runIds = new Set<string>(current.open ? [] : [current.runId]);
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
