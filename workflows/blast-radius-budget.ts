import { allHandlersFinished, condition, continueAsNew, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GuardActivities } from '../activities/guard-activities';
import type { GuardState, LeaseDecision, LeaseRequest } from '../schemas/isolation-lease';
import { acquireIsolation, guardState, releaseIsolation } from './messages';

const HOUR_MS = 3_600_000;

/** Asking Temporal which holders still run: quick, a few tries, and on failure the request is refused as before. */
const reclaimActivities = proxyActivities<Pick<GuardActivities, 'holdersStillRunning'>>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 3, initialInterval: '500ms' } });

/**
 * Per-service blast-radius budget: at most `maxIsolated` targets isolated at
 * once and `maxPerHour` isolations per hour, across every incident of the
 * service. Each decision to grant is taken without awaiting, so two
 * incidents cannot both take the last slot. Before refusing a lease because
 * too many targets are isolated, the guard asks Temporal which holders still
 * run and reclaims the leases of the others (a terminated incident runs no
 * code to give its lease back). The workflow type stays `serviceGuard`:
 * running guards and stored histories carry that name.
 */
export async function serviceGuard(carried?: GuardState): Promise<void> {
  const state: GuardState = carried ?? { holders: {}, grants: [] };
  setHandler(guardState, () => state);
  setHandler(releaseIsolation, (incidentId) => {
    delete state.holders[incidentId];
  });

  const decide = (req: LeaseRequest): LeaseDecision => {
    const now = Date.now();
    state.grants = state.grants.filter((t) => now - t < HOUR_MS);
    const isolatedNow = Object.entries(state.holders).map(([id, h]) => `${h.target} (${id})`);
    const answer = (granted: boolean, reason: string): LeaseDecision => ({ granted, reason, isolatedNow, grantsLastHour: state.grants.length });
    if (state.holders[req.incidentId]) return answer(true, 'already held by this incident');
    const others = Object.keys(state.holders).length;
    if (!req.force && others >= req.maxIsolated) return answer(false, `${others} target(s) already isolated (budget ${req.maxIsolated} at once)`);
    if (!req.force && state.grants.length >= req.maxPerHour) return answer(false, `${state.grants.length} isolations in the last hour (budget ${req.maxPerHour} per hour)`);
    state.holders[req.incidentId] = { target: req.target, since: now, ...(req.runId ? { runId: req.runId } : {}) };
    state.grants.push(now);
    return answer(true, req.force ? 'granted over budget by approval' : 'within budget');
  };

  /** Drops the leases of holders that no longer run; true if any was dropped. */
  const reclaim = async (): Promise<boolean> => {
    const held = Object.entries(state.holders).map(([incidentId, h]) => ({ incidentId, since: h.since, ...(h.runId ? { runId: h.runId } : {}) }));
    let running: string[];
    try {
      running = await reclaimActivities.holdersStillRunning(held.map(({ incidentId, runId }) => ({ incidentId, ...(runId ? { runId } : {}) })));
    } catch {
      return false;
    }
    let dropped = false;
    for (const h of held) {
      // A holder that gave its lease back and took a new one while Temporal was asked is not stale.
      if (!running.includes(h.incidentId) && state.holders[h.incidentId]?.since === h.since) {
        delete state.holders[h.incidentId];
        dropped = true;
      }
    }
    return dropped;
  };

  setHandler(acquireIsolation, async (req) => {
    const first = decide(req);
    const overAtOnce = !first.granted && Object.keys(state.holders).length >= req.maxIsolated;
    // Guards that refused before stale leases were reclaimed replay that way.
    if (!overAtOnce || !patched('lease-reclaim')) return first;
    return (await reclaim()) ? decide(req) : first;
  });
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof serviceGuard>(state);
}
