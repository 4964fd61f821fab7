import type { ApprovalVerdict, DecisionBase, EscalationAction } from '../schemas/decisions';
import type { HumanRequest } from '../schemas/incident-state';
import type { Approval } from '../schemas/runbook';

/*
 * Where approvals are decided: who may decide what, how many approvals settle
 * a request, what a timeout does, and what a verdict means for each kind of
 * request. Plain functions and constants with no Temporal runtime, so the
 * workflow and the approval API share one definition. The gate that waits for
 * people (human-gate.ts) applies these rules; it does not make them.
 */

/**
 * Failure types a refused decision carries; the approval API maps them to
 * HTTP statuses.
 */
export const REFUSAL = {
  notApprover: 'NotAnApprover',
  stale: 'StaleDecision',
  unknownStep: 'UnknownStep',
} as const;
export type RefusalType = (typeof REFUSAL)[keyof typeof REFUSAL];

/** Why a decision cannot count, in words and as a failure type. */
export interface Refusal {
  type: RefusalType;
  note: string;
}

/** A decision as the gate receives it, whichever channel delivered it. */
export interface GateDecision extends DecisionBase {
  verdict: string;
}

/** The refusal for a decision when no request is waiting at all. */
export const NOTHING_WAITING: Refusal = { type: REFUSAL.stale, note: 'stale: no request is waiting' };

/** Verdicts that answer an approval request. */
export const APPROVAL_VERDICTS = ['approve', 'reject'] as const satisfies readonly ApprovalVerdict['verdict'][];

/** Verdicts that answer an escalation after a step finally failed. */
export const ESCALATION_VERDICTS: readonly EscalationAction[] = ['retry', 'skip', 'abort'];

/** The request waiting for an answer, and its verdict once one settled it. */
export interface OpenRequest {
  request: HumanRequest;
  verdict?: string;
}

/**
 * Why `d` would be refused now, or undefined when it would count. A decision
 * must answer the request that is waiting (not an older one or another step),
 * come from one of its eligible approvers when a roster named them, and not
 * repeat an approval the same person already gave.
 */
export function refusalFor(open: OpenRequest | undefined, requests: readonly HumanRequest[], d: GateDecision): Refusal | undefined {
  // A decision racing one that already moved the incident on is stale, not a mistake about the step.
  const decidedBefore = requests.some((r) => r !== open?.request && r.outcome !== undefined && (d.requestId !== undefined ? r.requestId === d.requestId : r.step === d.step));
  if (!open) return decidedBefore ? { type: REFUSAL.stale, note: 'stale: the request was already decided' } : NOTHING_WAITING;
  if (open.verdict !== undefined) return { type: REFUSAL.stale, note: 'stale: the request was already decided' };
  if (d.step !== open.request.step) {
    if (decidedBefore) return { type: REFUSAL.stale, note: `stale: the request for ${d.step} was already decided` };
    return { type: REFUSAL.unknownStep, note: `unknown step: ${d.step} is not waiting (waiting: ${open.request.step})` };
  }
  if (d.requestId !== undefined && d.requestId !== open.request.requestId) return { type: REFUSAL.stale, note: 'stale: answers an earlier request' };
  const eligible = open.request.eligible;
  if (eligible !== undefined && !eligible.includes(d.by)) {
    return { type: REFUSAL.notApprover, note: `not an approver: ${d.by} is not in ${(open.request.approvers ?? []).join(', ') || 'the required groups'}` };
  }
  if (open.request.type === 'approval' && d.verdict === 'approve' && open.request.decisions.some((x) => x.accepted && x.by === d.by && x.verdict === 'approve')) {
    return { type: REFUSAL.stale, note: `stale: ${d.by} already approved this request` };
  }
  return undefined;
}

/** Settles a request from an accepted decision: the verdict, or undefined while it is not settled yet. */
export type Settle = (d: GateDecision) => string | undefined;

/**
 * The quorum of one approval gate: a rejection settles it at once; approvals
 * from distinct people count, across escalation rounds, until `minApprovals`.
 */
export function approvalQuorum(minApprovals: number): Settle {
  const approvedBy = new Set<string>();
  return (d) => {
    if (d.verdict === 'reject') return 'reject';
    approvedBy.add(d.by);
    return approvedBy.size >= minApprovals ? 'approve' : undefined;
  };
}

/** An escalation is settled by the first retry, skip or abort. */
export const escalationVerdict: Settle = (d) => ((ESCALATION_VERDICTS as readonly string[]).includes(d.verdict) ? d.verdict : undefined);

/** Accepted approvals on a request and how many it needs. */
export function approvalTally(request: HumanRequest | undefined): { approvals: number; needed: number } {
  if (!request) return { approvals: 0, needed: 0 };
  return { approvals: new Set(request.decisions.filter((x) => x.accepted && x.verdict === 'approve').map((x) => x.by)).size, needed: request.minApprovals ?? 1 };
}

/** What an approval's timeout does: settle the gate with a verdict, or ask the next approvers. */
export type AfterTimeout = { settle: 'approve' | 'timeout' } | { escalateTo: string[] };

/**
 * `on_timeout` of a runbook approval: `approve` lets the step run, `reject`
 * ends the gate as timed out (the step does not run), and `escalate` asks the
 * runbook's `escalate_to`, else the roster's escalation chain, else the same
 * approvers again.
 */
export function afterTimeout(approval: Pick<Approval, 'on_timeout' | 'escalate_to'>, approvers: string[], roster: { escalateTo: string[] } | undefined): AfterTimeout {
  if (approval.on_timeout === 'approve') return { settle: 'approve' };
  if (approval.on_timeout === 'reject') return { settle: 'timeout' };
  return { escalateTo: approval.escalate_to ?? (roster && roster.escalateTo.length > 0 ? roster.escalateTo : approvers) };
}

/** Escalation rounds of one gate before the incident gives up. */
export const MAX_ESCALATION_ROUNDS = 100;

/**
 * The approval a guard asks for before going over a limit (flapping, the
 * blast-radius budget): one on-call approver within a day, else the step does not run.
 */
export function guardOverrideApproval(): Approval {
  return { approvers: ['oncall'], min_approvals: 1, timeout: '24h', on_timeout: 'reject' };
}
