import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { VerifyDecisionRequest, VerifyDecisionResult } from '../activities/verify-decision';
import { NOT_VOUCHED, type GateDecision, type Refusal } from '../engine/approval-rules';
import type { RefusedDecision } from '../schemas/decisions';
import type { IncidentState } from '../schemas/incident-state';
import type { HumanGate } from './human-gate';

/*
 * Only decisions the approval API vouched for count (patch 'signed-decisions').
 * Anyone who can reach Temporal can send a signal or an Update naming any
 * person, so each decision carries the API's signature and an activity checks
 * it with the decision key, which stays in the worker. The check runs before
 * the decision touches the gate; the gate checks again when it applies it,
 * because another decision may have settled the request meanwhile.
 */

interface VerifyActivities {
  verifyDecision(req: VerifyDecisionRequest): Promise<VerifyDecisionResult>;
}

/** Quick and retried: a worker restart must not turn a real decision into a refusal. */
const { verifyDecision } = proxyActivities<VerifyActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '10s' },
});

/** Whether the approval API signed exactly this decision for this incident. Fails closed. */
async function vouched(purpose: VerifyDecisionRequest['purpose'], d: GateDecision & { note?: string }): Promise<boolean> {
  if (d.signature === undefined) return false;
  const req: VerifyDecisionRequest = {
    purpose,
    // The incident's own id, so a signature for another incident never verifies here.
    incidentId: workflowInfo().workflowId,
    step: d.step,
    verdict: d.verdict,
    by: d.by,
    channel: d.channel,
    reason: d.reason,
    signature: d.signature,
    ...(d.requestId !== undefined ? { requestId: d.requestId } : {}),
    ...(d.note !== undefined ? { note: d.note } : {}),
  };
  try {
    return (await verifyDecision(req)).vouched;
  } catch {
    return false;
  }
}

/**
 * Applies a decision once its signature verifies; returns why it was refused,
 * or undefined when it counted. An unsigned decision is refused without an
 * activity; a signed one the rules already refuse is recorded as before. Each
 * refusal is recorded on the request it aimed at.
 */
export async function receiveVouched(gate: HumanGate, d: GateDecision): Promise<Refusal | undefined> {
  if (d.signature === undefined) {
    gate.refuse(d, NOT_VOUCHED.note);
    return NOT_VOUCHED;
  }
  if (gate.check(d) !== undefined) return gate.receive(d);
  if (!(await vouched('decision', d))) {
    gate.refuse(d, NOT_VOUCHED.note);
    return NOT_VOUCHED;
  }
  // Checked again: a decision that settled the request while this one was verified makes it stale.
  return gate.receive(d);
}

/**
 * Records a refusal the approval API reported, only when the API signed it.
 * An unsigned or forged one is dropped and counted (`ignoredRefusals`), never
 * written as a refusal attributed to the person it names.
 */
export async function recordVouchedRefusal(gate: HumanGate, state: IncidentState, d: RefusedDecision): Promise<void> {
  if (await vouched('refusal', d)) {
    gate.refuse(d, d.note);
    return;
  }
  state.ignoredRefusals = (state.ignoredRefusals ?? 0) + 1;
}

/** True when a signature, if present, has the shape of one (cheap enough for an Update validator). */
export function signatureWellFormed(d: GateDecision): boolean {
  const s = d.signature as unknown;
  if (s === undefined) return true;
  if (typeof s !== 'object' || s === null) return false;
  const { mac, signedAt } = s as Record<string, unknown>;
  return typeof mac === 'string' && mac.length <= 128 && typeof signedAt === 'string' && signedAt.length <= 64;
}
