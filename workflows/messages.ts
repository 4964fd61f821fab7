import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { FaultEvent } from '../schemas/fault-event';
import type { IncidentState } from './incident-state';

/** A further fault event for the target of an open incident (coalesced by the intake). */
export const faultObserved = defineSignal<[FaultEvent]>('faultObserved');

/** The monitor reports the fault resolved; during confirmation this closes the incident as recovered. */
export const faultResolved = defineSignal<[FaultEvent]>('faultResolved');

/** Who decided, through which channel, and why. */
export interface DecisionBase {
  /** Identity of the person (authenticated by the channel that delivers the decision). */
  by: string;
  channel: string;
  reason: string;
  /** Step the decision is about; it must be the step that is waiting. */
  step: string;
  /** Id of the request being answered; decisions for an older request are stale. */
  requestId?: string;
}

/** An approve or reject answer to an approval request. */
export interface ApprovalDecision extends DecisionBase {
  approve: boolean;
}

/** A human's answer to an escalation after a step finally failed. */
export interface EscalationDecision extends DecisionBase {
  action: 'retry' | 'skip' | 'abort';
}

/** Approves the step waiting for approval. */
export const approve = defineSignal<[DecisionBase]>('approve');
/** Rejects the step waiting for approval: the incident aborts (with compensation). */
export const reject = defineSignal<[DecisionBase]>('reject');
/** Answers an escalation: retry the failed step, skip it, or abort the incident. */
export const decide = defineSignal<[EscalationDecision]>('decide');

/** Everything `runbook show` prints: faults absorbed, steps, attempts, errors, status. */
export const incidentState = defineQuery<IncidentState>('state');
