import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FaultEvent } from '../schemas/fault-event';
import type { IncidentState } from './incident-state';

/** A further fault event for the target of an open incident (coalesced by the intake). */
export const faultObserved = defineSignal<[FaultEvent]>('faultObserved');
/**
 * Several repeat faults for the incident's target in one signal, in the order
 * they were published: under an alert storm the intake hands a target's
 * queued events over together instead of one signal each.
 */
export const faultsObserved = defineSignal<[FaultEvent[]]>('faultsObserved');

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

/** An approve or reject on the pending approval request, as the approval API sends it. */
export interface ApprovalVerdict extends DecisionBase {
  verdict: 'approve' | 'reject';
}

/** What an accepted decision did. */
export interface DecisionAck {
  requestId: string;
  /** When the request opened: the approval wait ends with the decision that settles it. */
  requestedAt?: string;
  step: string;
  /** The request's verdict when this decision settled it; absent while more approvals are needed. */
  outcome?: string;
  approvals: number;
  needed: number;
}

/**
 * Failure types the `decideApproval` validator refuses with; the approval API
 * maps them to HTTP statuses.
 */
export const REFUSAL = {
  notApprover: 'NotAnApprover',
  stale: 'StaleDecision',
  unknownStep: 'UnknownStep',
} as const;
export type RefusalType = (typeof REFUSAL)[keyof typeof REFUSAL];

/**
 * The acknowledged path: the validator refuses an approver outside the
 * required groups, a request already decided, or a step that is not waiting,
 * and the caller learns it at once. Exactly one verdict takes effect per request.
 */
export const decideApproval = defineUpdate<DecisionAck, [ApprovalVerdict]>('decideApproval');

/** A decision the validator refused, with why: recorded so the audit shows refused attempts too. */
export interface RefusedDecision extends ApprovalVerdict {
  note: string;
}

/** Records a refused attempt (a refused Update leaves no trace in the history by itself). */
export const decisionRefused = defineSignal<[RefusedDecision]>('decisionRefused');

/** Everything `runbook show` prints: faults absorbed, steps, attempts, errors, status. */
export const incidentState = defineQuery<IncidentState>('state');
