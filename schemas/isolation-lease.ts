/*
 * Isolation leases of a service's blast-radius budget, as incidents (through
 * the guard activities) ask for them and the budget workflow answers.
 */

/** An incident asking to take a target of the service out of rotation. */
export interface LeaseRequest {
  incidentId: string;
  target: string;
  maxIsolated: number;
  maxPerHour: number;
  /** A human approved going over budget. */
  force?: boolean;
  /** The asking incident's run, so the guard can tell later whether that run still holds the lease. */
  runId?: string;
}

/** A lease holder as the guard asks Temporal about it. */
export interface LeaseHolderRef {
  incidentId: string;
  runId?: string;
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
  holders: Record<string, { target: string; since: number; runId?: string }>;
  grants: number[];
}
