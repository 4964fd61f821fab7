import { allHandlersFinished, condition, continueAsNew, defineQuery, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';

/** An incident asking to take a target of the service out of rotation. */
export interface LeaseRequest {
  incidentId: string;
  target: string;
  maxIsolated: number;
  maxPerHour: number;
  /** A human approved going over budget. */
  force?: boolean;
}

/** The guard's answer. */
export interface LeaseDecision {
  granted: boolean;
  reason: string;
  isolatedNow: string[];
  grantsLastHour: number;
}

/** Leases held and recent grants; carried across continue-as-new. */
export interface GuardState {
  holders: Record<string, { target: string; since: number }>;
  grants: number[];
}

/** Asks for an isolation lease; answered at once. */
export const acquireIsolation = defineUpdate<LeaseDecision, [LeaseRequest]>('acquireIsolation');
/** The incident no longer holds its target isolated (it closed or restored it). */
export const releaseIsolation = defineSignal<[string]>('releaseIsolation');
/** Current leases. */
export const guardState = defineQuery<GuardState>('guardState');

const HOUR_MS = 3_600_000;

/** Workflow id of the guard of one service. */
export function guardIdFor(service: string): string {
  return `guard/${service}`;
}

/**
 * Per-service blast-radius guard: at most `maxIsolated` targets isolated at
 * once and `maxPerHour` isolations per hour, across every incident of the
 * service. Updates are handled one at a time, so two incidents cannot both
 * take the last slot.
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
