import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GuardState, LeaseDecision } from '../schemas/isolation-lease';
import { acquireIsolation, guardState, releaseIsolation } from './messages';

const HOUR_MS = 3_600_000;

/**
 * Per-service blast-radius budget: at most `maxIsolated` targets isolated at
 * once and `maxPerHour` isolations per hour, across every incident of the
 * service. Updates are handled one at a time, so two incidents cannot both
 * take the last slot. The workflow type stays `serviceGuard`: running guards
 * and stored histories carry that name.
 */
export async function serviceGuard(carried?: GuardState): Promise<void> {
  const state: GuardState = carried ?? { holders: {}, grants: [] };
  setHandler(guardState, () => state);
  setHandler(releaseIsolation, (incidentId) => {
    delete state.holders[incidentId];
  });
  setHandler(acquireIsolation, (req) => {
    const now = Date.now();
    state.grants = state.grants.filter((t) => now - t < HOUR_MS);
    const isolatedNow = Object.entries(state.holders).map(([id, h]) => `${h.target} (${id})`);
    const answer = (granted: boolean, reason: string): LeaseDecision => ({ granted, reason, isolatedNow, grantsLastHour: state.grants.length });
    if (state.holders[req.incidentId]) return answer(true, 'already held by this incident');
    const others = Object.keys(state.holders).length;
    if (!req.force && others >= req.maxIsolated) return answer(false, `${others} target(s) already isolated (budget ${req.maxIsolated} at once)`);
    if (!req.force && state.grants.length >= req.maxPerHour) return answer(false, `${state.grants.length} isolations in the last hour (budget ${req.maxPerHour} per hour)`);
    state.holders[req.incidentId] = { target: req.target, since: now };
    state.grants.push(now);
    return answer(true, req.force ? 'granted over budget by approval' : 'within budget');
  });
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof serviceGuard>(state);
}
