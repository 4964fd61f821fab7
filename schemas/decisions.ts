/*
 * Decisions people send to an incident and what the incident answers: the
 * shapes the API, the CLI and the workflow exchange. What a decision is
 * allowed to do is decided in engine/approval-rules.ts.
 */

/**
 * Kinds of request a human answers: a runbook step's approval, an escalation
 * after a step finally failed, and the guards' on-call overrides (a flapping
 * target, an isolation over the blast-radius budget). Each takes only its own
 * verdicts (engine/approval-rules.ts).
 */
export const REQUEST_TYPES = ['approval', 'escalation', 'flap', 'budget'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

/**
 * The approval API's vouching for a decision: an HMAC over the decision's
 * fields (engine/decision-signature.ts) with the decision key, which only the
 * API and the worker hold. Carries no secret, so it may sit in workflow history.
 */
export interface DecisionSignature {
  /** When the API signed (ISO 8601); covered by the MAC. */
  signedAt: string;
  /** HMAC-SHA256, base64url. */
  mac: string;
}

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
  /** Without a valid one the decision does not count (incidents begun before signed decisions aside). */
  signature?: DecisionSignature;
}

/** An approve or reject answer to an approval request. */
export interface ApprovalDecision extends DecisionBase {
  approve: boolean;
}

/** What an escalation after a failed step can be answered with. */
export type EscalationAction = 'retry' | 'skip' | 'abort';

/** A human's answer to an escalation after a step finally failed. */
export interface EscalationDecision extends DecisionBase {
  action: EscalationAction;
}

/** An approve or reject on the pending approval request, as the approval API sends it. */
export interface ApprovalVerdict extends DecisionBase {
  verdict: 'approve' | 'reject';
}

/** An escalation's answer as the approval API sends it on the acknowledged path. */
export interface EscalationVerdict extends DecisionBase {
  verdict: EscalationAction;
}

/** Any verdict the approval API delivers through the `decideApproval` Update. */
export type SubmittedVerdict = ApprovalVerdict | EscalationVerdict;

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

/** A decision the validator refused, with why: recorded so the audit shows refused attempts too. */
export type RefusedDecision = SubmittedVerdict & {
  note: string;
};
