import { patched, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { GuardActivities } from '../activities/guard-activities';
import type { ActionRequest, ActionResult, ProbeOutcome, ProbeRequest } from '../activities/types';
import { parseDuration } from '../engine/duration';
import type { ActionKind, Step } from '../schemas/runbook';

/** The activities an incident calls. */
export interface IncidentActivities {
  runAction(req: ActionRequest): Promise<ActionResult>;
  probeOnce(req: ProbeRequest): Promise<ProbeOutcome>;
}

/** Kinds whose activities run long enough to heartbeat progress. */
const LONG_KINDS: readonly ActionKind[] = ['sync_data', 'start_service', 'restart_service', 'stop_service'];

/**
 * Data steps that copy a whole tree (snapshot and verify, restore and check),
 * so a worker that dies during one is noticed at the heartbeat timeout rather
 * than the step's. Behind `patched('data-step-heartbeats')`: steps scheduled
 * before it replay without a heartbeat timeout.
 */
const DATA_KINDS: readonly ActionKind[] = ['backup', 'restore_data'];

/**
 * The workflow retries steps itself (each attempt is recorded for the audit),
 * so every activity is scheduled for one attempt.
 */
const ONE_ATTEMPT = { maximumAttempts: 1 } as const;

/** One health probe for confirmation sampling: bounded by the probe's own timeout. */
export function probeProfile(timeoutMs: number): IncidentActivities {
  return proxyActivities<IncidentActivities>({ startToCloseTimeout: timeoutMs + 5_000, retry: ONE_ATTEMPT });
}

/** A changing or checking step: start-to-close is the step's timeout; long kinds heartbeat. */
export function stepProfile(step: Pick<Step, 'timeout'>, kind: ActionKind): IncidentActivities {
  const options: ActivityOptions = { startToCloseTimeout: parseDuration(step.timeout), retry: ONE_ATTEMPT };
  if (LONG_KINDS.includes(kind) || (DATA_KINDS.includes(kind) && patched('data-step-heartbeats'))) options.heartbeatTimeout = '15s';
  return proxyActivities<IncidentActivities>(options);
}

/** Coordination with other incidents (guard leases, flap counts, the pause switch): quick, retried. */
export function guardProfile(): GuardActivities {
  return proxyActivities<GuardActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '10s' } });
}

