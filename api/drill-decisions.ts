import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import { REFUSAL } from '../engine/approval-rules';
import { signDecision } from '../engine/decision-signature';
import { STATUS_FOR } from './decisions';
import { DRILL_DECISION_STEP, type DrillState } from '../schemas/drill-input';
import { decideDrill, drillState } from '../workflows/messages';

/** A drill decision as an approver posts it; the identity is the bearer token's, never the body's. */
export const DrillDecisionBody = z.strictObject({
  verdict: z.enum(['approve', 'reject']),
  reason: z.string().trim().min(1, 'a reason is required').max(2_000),
});
export type DrillDecisionBody = z.infer<typeof DrillDecisionBody>;

/** Drill ids as the drill workflow names them: `drill/<service>/<target>/<runbook>/<stamp>`. */
export const DRILL_ID_PATTERN = /^drill\/[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/[a-z][a-z0-9_-]{0,63}\/[A-Za-z0-9._-]+$/;

/** What the API answers, with its HTTP status. */
export interface DrillDecisionReply {
  status: number;
  body: { drillId: string; accepted: boolean; refusal?: string; reason?: string };
}

/**
 * Approves or rejects a drill waiting for its approval: signed with the
 * decision key and sent as the drill's `decideDrill` Update, whose validator
 * refuses anyone outside the drill's approver groups (403) and a drill no
 * longer waiting (409). Every attempt is also recorded in the audit stream.
 */
export async function submitDrillDecision(
  client: Client,
  drillId: string,
  identity: string,
  body: DrillDecisionBody,
  opts: { decisionKey: Buffer; channel?: string; audit?: AuditSink | undefined; waitMs?: number },
): Promise<DrillDecisionReply> {
  const channel = opts.channel ?? 'http';
  const reply = await deliver(client, drillId, identity, body, channel, opts);
  await opts.audit?.publish({
    event: `drill.decision.${reply.body.accepted ? 'accepted' : 'refused'}`,
    incidentId: drillId,
    at: new Date().toISOString(),
    by: identity,
    channel,
    verdict: body.verdict,
    reason: body.reason,
    status: reply.status,
    ...(reply.body.refusal ? { refusal: reply.body.refusal, note: reply.body.reason } : {}),
  });
  return reply;
}

async function deliver(client: Client, drillId: string, identity: string, body: DrillDecisionBody, channel: string, opts: { decisionKey: Buffer; waitMs?: number }): Promise<DrillDecisionReply> {
  const reply = (status: number, rest: Omit<DrillDecisionReply['body'], 'drillId'>): DrillDecisionReply => ({ status, body: { drillId, ...rest } });
  const signature = signDecision(opts.decisionKey, { purpose: 'decision', incidentId: drillId, step: DRILL_DECISION_STEP, verdict: body.verdict, by: identity, channel, reason: body.reason });
  try {
    await client.withDeadline(Date.now() + (opts.waitMs ?? 10_000), () =>
      client.workflow.getHandle(drillId).executeUpdate(decideDrill, { args: [{ verdict: body.verdict, by: identity, channel, reason: body.reason, signature }] }),
    );
    return reply(200, { accepted: true });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      const closed = await client.workflow.getHandle(drillId).describe().then(() => true, () => false);
      return closed ? reply(409, { accepted: false, refusal: REFUSAL.stale, reason: 'stale: the drill has already ended' }) : reply(404, { accepted: false, refusal: 'NotFound', reason: `no drill ${drillId}` });
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const type = err.cause.type ?? REFUSAL.stale;
      return reply(STATUS_FOR[type] ?? 409, { accepted: false, refusal: type, reason: err.cause.message });
    }
    throw err;
  }
}

/** The drill's state, for `GET /drills/<id>`. */
export function readDrillState(client: Client, drillId: string): Promise<DrillState> {
  return client.workflow.getHandle(drillId).query(drillState);
}
