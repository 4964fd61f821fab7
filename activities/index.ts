import { mapAdapterErrors } from './action-errors';
import type { ActivityDeps } from './deps';
import { createDrillActivities } from './drill-activities';
import { probeOnce } from './probe-once';
import { runAction } from './action-runner';
import type { ActionRequest, ActionResult, ProbeOutcome, ProbeRequest } from './types';
import { verifyDecision, type VerifyDecisionRequest, type VerifyDecisionResult } from './verify-decision';

export type { ActivityDeps } from './deps';
export type { ActionRequest, ActionResult, ProbeOutcome, ProbeRequest } from './types';
export type { CanaryChunkRequest, CanaryChunkResult, CanaryReadRequest, CanaryReadResult } from './drill-canary';
export type { LoadChunkRequest, LoadChunkResult } from './drill-load';
export type { Outage } from '../engine/outages';
export type { VerifyDecisionRequest, VerifyDecisionResult } from './verify-decision';

/** Builds the activity implementations registered on the runbook worker. */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Performs (or, in a dry run, plans) one runbook action; see action-runner.ts. */
    runAction: (req: ActionRequest): Promise<ActionResult> => runAction(deps, req),
    /** Probes a target once; unhealthy is `ok: false`, never a failure. */
    probeOnce: (req: ProbeRequest): Promise<ProbeOutcome> => mapAdapterErrors(() => probeOnce(req)),
    /** Whether the approval API signed a decision (the key stays in the worker). */
    verifyDecision: (req: VerifyDecisionRequest): Promise<VerifyDecisionResult> => verifyDecision(deps, req),
    /** A drill's write canary and client load: canaryChunk, canaryRead, loadChunk (see drill-activities.ts). */
    ...createDrillActivities(),
  };
}

/** Activity interface as workflows see it (`import type` only). */
export type Activities = ReturnType<typeof createActivities>;
