import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DecisionAck, DecisionBase, EscalationDecision, RefusedDecision, SubmittedVerdict } from '../schemas/decisions';
import type { FaultEvent } from '../schemas/fault-event';
import type { DrillDecision, DrillState } from '../schemas/drill-input';
import type { IncidentState } from '../schemas/incident-state';
import type { GuardState, LeaseDecision, LeaseRequest } from '../schemas/isolation-lease';

/*
 * Signals, updates and queries of the workflows: the one file clients (the
 * intake, the API, the CLI, the guard activities) import from `workflows/`.
 * It imports only `schemas/` and the SDK, so importing it cannot make a cycle.
 */

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

/** Approves the step waiting for approval. */
export const approve = defineSignal<[DecisionBase]>('approve');
/** Rejects the step waiting for approval: the incident aborts (with compensation). */
export const reject = defineSignal<[DecisionBase]>('reject');
/** Answers an escalation: retry the failed step, skip it, or abort the incident. */
export const decide = defineSignal<[EscalationDecision]>('decide');

/**
 * The acknowledged path: the validator refuses an approver outside the
 * required groups, a request already decided, or a step that is not waiting,
 * and the caller learns it at once. Exactly one verdict takes effect per request.
 * Escalations are answered the same way, with retry, skip or abort.
 */
export const decideApproval = defineUpdate<DecisionAck, [SubmittedVerdict]>('decideApproval');

/** Records a refused attempt (a refused Update leaves no trace in the history by itself). */
export const decisionRefused = defineSignal<[RefusedDecision]>('decisionRefused');

/** Everything `runbook show` prints: faults absorbed, steps, attempts, errors, status. */
export const incidentState = defineQuery<IncidentState>('state');

/** Workflow type of a service's blast-radius budget (`serviceGuard` in workflows/blast-radius-budget.ts). */
export const SERVICE_GUARD_WORKFLOW = 'serviceGuard';

/** Workflow id of the blast-radius budget of one service. */
export function guardIdFor(service: string): string {
  return `guard/${service}`;
}

/** Asks for an isolation lease; answered at once. */
export const acquireIsolation = defineUpdate<LeaseDecision, [LeaseRequest]>('acquireIsolation');
/** The incident no longer holds its target isolated (it closed or restored it). */
export const releaseIsolation = defineSignal<[string]>('releaseIsolation');
/** Current leases. */
export const guardState = defineQuery<GuardState>('guardState');

/** Marks an incident as provoked by a drill: it says so in its state, search attributes and audit. */
export const drillMarked = defineSignal<[{ drillId: string }]>('drillMarked');

/** A drill's approval or rejection; the validator refuses anyone outside the drill's approver groups, or a drill not waiting for one. */
export const decideDrill = defineUpdate<{ accepted: true; verdict: 'approve' | 'reject' }, [DrillDecision]>('decideDrill');

/** Where a drill stands (`runbook drills`, the approval API). */
export const drillState = defineQuery<DrillState>('drillState');
