import { verifyDecisionSignature, type SignedPurpose } from '../engine/decision-signature';
import type { DecisionSignature } from '../schemas/decisions';
import type { Logger } from '../observability/logger';

/** A decision (or refusal record) as the workflow received it, for checking its signature. */
export interface VerifyDecisionRequest {
  purpose: SignedPurpose;
  /** The incident's own id (its workflow id), never the sender's claim: a signature for another incident fails. */
  incidentId: string;
  requestId?: string;
  step: string;
  verdict: string;
  by: string;
  channel: string;
  reason: string;
  note?: string;
  signature?: DecisionSignature;
}

/** Whether the approval API vouched for the decision; the result is what the workflow history keeps. */
export interface VerifyDecisionResult {
  vouched: boolean;
}

/**
 * Checks a decision's signature with the worker's decision key. Without a key
 * nothing is vouched for (refused, never waved through). The key stays in this
 * process: only the signature and the signed fields travel through history.
 */
export function verifyDecision(deps: { decisionKey?: Buffer | undefined; logger: Logger }, req: VerifyDecisionRequest): Promise<VerifyDecisionResult> {
  if (!deps.decisionKey) {
    deps.logger.warn('no decision key on this worker; refusing the decision', { incidentId: req.incidentId, step: req.step });
    return Promise.resolve({ vouched: false });
  }
  const { signature, ...fields } = req;
  const vouched = verifyDecisionSignature(deps.decisionKey, fields, signature);
  if (!vouched) deps.logger.warn('decision not vouched for by the approval API', { incidentId: req.incidentId, step: req.step, by: req.by, channel: req.channel, purpose: req.purpose });
  return Promise.resolve({ vouched });
}
