import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import { RunbookId } from '../schemas/runbook';
import type { IncidentState } from '../schemas/incident-state';
import type { DecisionAck, DecisionBase, EscalationAction, SubmittedVerdict } from '../schemas/decisions';
import { APPROVAL_VERDICTS, ESCALATION_VERDICTS, NOTHING_WAITING, REFUSAL } from '../engine/approval-rules';
import { signDecision } from '../engine/decision-signature';
import { approve, decide, decideApproval, decisionRefused, incidentState, reject } from '../workflows/messages';

/**
 * Request ids are the workflow's UUIDs; the rule is only as wide as an id
 * needs, so a control character, a line break or a shell metacharacter is
 * refused at the edge, naming the field, instead of travelling on.
 */
const REQUEST_ID_PATTERN = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const REQUEST_ID_RULE = "must be 1-64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit, without '..'";

/**
 * A decision as an approver posts it. There is deliberately no `by` field:
 * the identity recorded is the one the bearer token authenticates.
 */
export const DecisionBody = z.strictObject({
  /** approve or reject for an approval (or a guard's override); retry, skip or abort for an escalation. */
  verdict: z.enum([...APPROVAL_VERDICTS, ...(ESCALATION_VERDICTS as readonly EscalationAction[])] as [string, ...string[]]),
  reason: z.string().trim().min(1, 'a reason is required').max(2_000),
  /** The step waiting for approval (a runbook step id); looked up when omitted. */
  step: RunbookId.optional(),
  /** The request being answered; a decision for an older request is stale. */
  requestId: z.string().regex(REQUEST_ID_PATTERN, REQUEST_ID_RULE).optional(),
});
export type DecisionBody = z.infer<typeof DecisionBody>;

/** What the API answers, with its HTTP status. */
export interface DecisionReply {
  status: number;
  body: {
    incidentId: string;
    accepted: boolean;
    /** Set when the decision will take effect once a worker is back. */
    queued?: boolean;
    refusal?: string;
    reason?: string;
    ack?: DecisionAck;
  };
}

/** HTTP status for each refusal type, for incident and drill decisions alike. */
export const STATUS_FOR: Record<string, number> = {
  [REFUSAL.notApprover]: 403,
  [REFUSAL.stale]: 409,
  [REFUSAL.unknownStep]: 404,
  [REFUSAL.verdictDoesNotFit]: 422,
  [REFUSAL.notVouched]: 403,
};

/** How long to wait for a worker to accept the Update before falling back to a durable signal. @default 10000 */
export const DEFAULT_UPDATE_WAIT_MS = 10_000;

/** The request waiting for an answer, from the incident's state. */
async function pendingRequest(client: Client, incidentId: string): Promise<{ step: string; requestId: string } | undefined> {
  const state: IncidentState = await client.workflow.getHandle(incidentId).query(incidentState);
  const open = [...state.requests].reverse().find((r) => r.outcome === undefined);
  return open ? { step: open.step, requestId: open.requestId } : undefined;
}

/** How {@link submitDecision} delivers. */
export interface DecisionOptions {
  /** The decision key (config/decision-key.ts): every decision and refusal record is signed with it. */
  decisionKey: Buffer;
  channel?: string;
  updateWaitMs?: number;
  audit?: AuditSink | undefined;
}

/**
 * Delivers an authenticated decision, signed with the decision key so the
 * worker knows the API vouched for it (a decision without a valid signature
 * never counts). The acknowledged path is the
 * `decideApproval` Update: its validator's refusal comes back at once (403
 * outside the groups, 409 stale, 404 unknown step, 422 a verdict the waiting
 * request does not take, such as approve on an escalation) and is then recorded in the
 * incident by a `decisionRefused` signal. When no worker accepts the Update in
 * time, the decision goes as a signal, which the history keeps until a worker
 * applies it (202, queued); it is checked the same way then.
 */
export async function submitDecision(
  client: Client,
  incidentId: string,
  identity: string,
  body: DecisionBody,
  opts: DecisionOptions,
): Promise<DecisionReply> {
  const reply = await deliver(client, incidentId, identity, body, opts);
  // The audit stream keeps every attempt, including refusals for an incident that closed meanwhile (its history cannot take them).
  await opts.audit?.publish({
    event: `decision.${reply.body.accepted ? 'accepted' : reply.body.queued ? 'queued' : 'refused'}`,
    incidentId,
    at: new Date().toISOString(),
    by: identity,
    channel: opts.channel ?? 'http',
    verdict: body.verdict,
    reason: body.reason,
    ...(body.step ? { step: body.step } : {}),
    ...(body.requestId ? { requestId: body.requestId } : {}),
    status: reply.status,
    ...(reply.body.refusal ? { refusal: reply.body.refusal, note: reply.body.reason } : {}),
    ...(reply.body.ack ? { ack: reply.body.ack } : {}),
  });
  return reply;
}

async function deliver(
  client: Client,
  incidentId: string,
  identity: string,
  body: DecisionBody,
  opts: DecisionOptions,
): Promise<DecisionReply> {
  const handle = client.workflow.getHandle(incidentId);
  const reply = (status: number, rest: Omit<DecisionReply['body'], 'incidentId'>): DecisionReply => ({ status, body: { incidentId, ...rest } });
  let step = body.step;
  let requestId = body.requestId;
  if (step === undefined) {
    let open: { step: string; requestId: string } | undefined;
    try {
      open = await client.withDeadline(Date.now() + 5_000, () => pendingRequest(client, incidentId));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return reply(404, { accepted: false, refusal: 'NotFound', reason: `no incident ${incidentId}` });
      return reply(503, { accepted: false, refusal: 'Unavailable', reason: `cannot read the waiting step (${(err as Error).message}); pass step explicitly` });
    }
    if (open === undefined) return reply(409, { accepted: false, refusal: NOTHING_WAITING.type, reason: NOTHING_WAITING.note });
    step = open.step;
    // Naming the request looked up keeps the signed decision from counting for a later request of the same step.
    requestId ??= open.requestId;
  }
  const channel = opts.channel ?? 'http';
  const fields = { incidentId, step, verdict: body.verdict, by: identity, channel, reason: body.reason, requestId };
  const unsigned: DecisionBase = { by: identity, channel, reason: body.reason, step, ...(requestId !== undefined ? { requestId } : {}) };
  const signature = signDecision(opts.decisionKey, { purpose: 'decision', ...fields });
  // DecisionBody admits only approval and escalation verdicts; whether this one fits the waiting request is the workflow's call.
  const decision = { ...unsigned, verdict: body.verdict, signature } as SubmittedVerdict;
  try {
    const ack = await client.withDeadline(Date.now() + (opts.updateWaitMs ?? DEFAULT_UPDATE_WAIT_MS), () => handle.executeUpdate(decideApproval, { args: [decision] }));
    return reply(200, { accepted: true, ack });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      // A decision that lost a race to the one that closed the incident is stale, not aimed at nothing.
      const closed = await handle.describe().then(() => true, () => false);
      if (closed) return reply(409, { accepted: false, refusal: REFUSAL.stale, reason: 'stale: the incident has already closed' });
      return reply(404, { accepted: false, refusal: 'NotFound', reason: `no incident ${incidentId}` });
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const type = err.cause.type ?? REFUSAL.stale;
      const note = err.cause.message;
      // A signature the worker did not accept is recorded by the workflow itself; other refusals leave no trace unless reported.
      if (type !== REFUSAL.notVouched) {
        const signature = signDecision(opts.decisionKey, { purpose: 'refusal', ...fields, note });
        await handle.signal(decisionRefused, { ...decision, note, signature }).catch(() => undefined);
      }
      return reply(STATUS_FOR[type] ?? 409, { accepted: false, refusal: type, reason: note });
    }
    if (!isNoWorker(err)) throw err;
  }
  const signalled: DecisionBase = { ...unsigned, signature };
  if (decision.verdict === 'approve') await handle.signal(approve, signalled);
  else if (decision.verdict === 'reject') await handle.signal(reject, signalled);
  else await handle.signal(decide, { ...signalled, action: decision.verdict });
  return reply(202, { accepted: false, queued: true, reason: 'no worker answered; the decision is stored in the incident history and takes effect when a worker returns (unless it is stale or refused then)' });
}

/** True for the errors a missing worker produces: the Update was never accepted in time. */
function isNoWorker(err: unknown): boolean {
  const e = err as { name?: string; code?: number; cause?: { code?: number } };
  return e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError' || e.code === 4 || e.cause?.code === 4 || /deadline/i.test((err as Error).message ?? '');
}
