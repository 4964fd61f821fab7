import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { AuditSink } from '../audit/audit-stream';
import { loadRosterFile, membersOf } from '../config/roster';
import { signDecision } from '../engine/decision-signature';
import { DRILL_SCHEDULE_STEP } from '../schemas/drill-input';
import type { ScheduledRunInput } from '../schemas/scheduled-run';

/** An approval of a drill schedule: every drill it starts then runs without asking again. */
export const ScheduleApprovalBody = z.strictObject({ reason: z.string().trim().min(1, 'a reason is required').max(2_000) });
export type ScheduleApprovalBody = z.infer<typeof ScheduleApprovalBody>;

/** What the API answers, with its HTTP status. */
export interface ScheduleApprovalReply {
  status: number;
  body: { scheduleId: string; accepted: boolean; refusal?: string; reason?: string };
}

/**
 * Approves a drill schedule made from a runbook file: the caller must be in
 * the drill's approver groups (read from the roster at each request; without
 * a roster, as for incidents, membership is not checked). The approval is
 * signed with the decision key and written into the schedule's input, where
 * each scheduled drill checks the signature before it skips asking. A
 * changed runbook file rewrites that input at start-up, so a changed drill
 * must be approved again.
 */
export async function approveDrillSchedule(
  client: Client,
  scheduleId: string,
  identity: string,
  body: ScheduleApprovalBody,
  opts: { decisionKey: Buffer; rosterFile?: string | undefined; channel?: string; audit?: AuditSink | undefined },
): Promise<ScheduleApprovalReply> {
  const reply = (status: number, rest: Omit<ScheduleApprovalReply['body'], 'scheduleId'>): ScheduleApprovalReply => ({ status, body: { scheduleId, ...rest } });
  const handle = client.schedule.getHandle(scheduleId);
  let input: ScheduledRunInput | undefined;
  try {
    const first: unknown = (await handle.describe()).action.args?.[0];
    input = first !== null && typeof first === 'object' && 'scheduleId' in first ? (first as ScheduledRunInput) : undefined;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return reply(404, { accepted: false, refusal: 'NotFound', reason: `no schedule ${scheduleId}` });
    throw err;
  }
  const approvers = input?.drill ? input.runbook.definition.drill?.approvers : undefined;
  if (!input || !approvers) return reply(422, { accepted: false, refusal: 'NotADrillSchedule', reason: `${scheduleId} does not start drills` });
  if (opts.rosterFile && !membersOf(await loadRosterFile(opts.rosterFile), approvers).includes(identity)) {
    return reply(403, { accepted: false, refusal: 'NotAnApprover', reason: `${identity} is not in the drill approver groups (${approvers.join(', ')})` });
  }
  const channel = opts.channel ?? 'http';
  const at = new Date().toISOString();
  const signature = signDecision(opts.decisionKey, { purpose: 'decision', incidentId: scheduleId, step: DRILL_SCHEDULE_STEP, verdict: 'approve', by: identity, channel, reason: body.reason, signedAt: at });
  const preApproved = { by: identity, at, reason: body.reason, channel, scheduleId, signature };
  await handle.update((prev) => {
    if (prev.action.type !== 'startWorkflow') return prev;
    const [first, ...rest] = prev.action.args ?? [];
    return { ...prev, action: { ...prev.action, args: [{ ...(first as ScheduledRunInput), preApproved }, ...rest] } } as typeof prev;
  });
  await opts.audit?.publish({ event: 'drill.schedule.approved', incidentId: `drill/${input.service}/${input.target}/${input.runbook.name}/schedule`, at, by: identity, channel, reason: body.reason, scheduleId });
  return reply(200, { accepted: true });
}
