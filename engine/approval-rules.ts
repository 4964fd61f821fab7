import type { ApprovalVerdict, DecisionBase, EscalationAction, RequestType } from '../schemas/decisions';
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
  verdictDoesNotFit: 'VerdictDoesNotFit',
  notVouched: 'DecisionNotVouched',
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

/** The refusal for a decision whose signature is missing or does not verify. */
export const NOT_VOUCHED: Refusal = { type: REFUSAL.notVouched, note: 'decision signature invalid: not vouched for by the approval API' };

/** Verdicts that answer an approval request. */
export const APPROVAL_VERDICTS = ['approve', 'reject'] as const satisfies readonly ApprovalVerdict['verdict'][];

/** Verdicts that answer an escalation after a step finally failed. */
export const ESCALATION_VERDICTS: readonly EscalationAction[] = ['retry', 'skip', 'abort'];

/**
 * The verdicts each kind of request accepts. A guard's override (flapping,
 * blast-radius budget) is a yes or no like an approval; only an escalation
 * takes retry, skip or abort.
 */
export const VERDICTS_FOR: Readonly<Record<RequestType, readonly string[]>> = {
  approval: APPROVAL_VERDICTS,
  flap: APPROVAL_VERDICTS,
  budget: APPROVAL_VERDICTS,
  escalation: ESCALATION_VERDICTS,
};

/** Why `verdict` cannot answer a request of `type`, or undefined when it fits. */
export function verdictMismatch(type: RequestType, verdict: string): Refusal | undefined {
  const fits = VERDICTS_FOR[type];
  if (fits.includes(verdict)) return undefined;
  const article = /^[aeiou]/.test(type) ? 'an' : 'a';
  return { type: REFUSAL.verdictDoesNotFit, note: `verdict '${verdict}' does not answer ${article} ${type} request; use ${fits.slice(0, -1).join(', ')} or ${fits.at(-1) ?? ''}` };
}

/** How strictly decisions are checked: whether a verdict must fit the request's type (off for incidents begun before that rule). */
export interface RefusalRules {
  verdictMustFit: boolean;
}

/** The request waiting for an answer, and its verdict once one settled it. */
export interface OpenRequest {
  request: HumanRequest;
  verdict?: string;
}

/**
 * Why `d` would be refused now, or undefined when it would count. A decision
 * must answer the request that is waiting (not an older one or another step)
 * with a verdict that request's type accepts, come from one of its eligible
 * approvers when a roster named them, and not repeat an approval the same
 * person already gave.
 */
export function refusalFor(
  open: OpenRequest | undefined,
  requests: readonly HumanRequest[],
  d: GateDecision,
  rules: RefusalRules = { verdictMustFit: true },
): Refusal | undefined {
  // A decision racing one that already moved the incident on is stale, not a mistake about the step.
  const decidedBefore = requests.some((r) => r !== open?.request && r.outcome !== undefined && (d.requestId !== undefined ? r.requestId === d.requestId : r.step === d.step));
  if (!open) return decidedBefore ? { type: REFUSAL.stale, note: 'stale: the request was already decided' } : NOTHING_WAITING;
  if (open.verdict !== undefined) return { type: REFUSAL.stale, note: 'stale: the request was already decided' };
  if (d.step !== open.request.step) {
    if (decidedBefore) return { type: REFUSAL.stale, note: `stale: the request for ${d.step} was already decided` };
    return { type: REFUSAL.unknownStep, note: `unknown step: ${d.step} is not waiting (waiting: ${open.request.step})` };
  }
  if (d.requestId !== undefined && d.requestId !== open.request.requestId) return { type: REFUSAL.stale, note: 'stale: answers an earlier request' };
  // A verdict the request cannot take is wrong whoever sends it; saying so first tells the sender what to send instead.
  if (rules.verdictMustFit) {
    const mismatch = verdictMismatch(open.request.type, d.verdict);
    if (mismatch) return mismatch;
  }
  const eligible = open.request.eligible;
  if (eligible !== undefined && !eligible.includes(d.by)) {
    const groups = (open.request.approvers ?? []).join(', ') || 'the required groups';
    if (open.request.type === 'escalation') return { type: REFUSAL.notApprover, note: `not on the escalation roster: ${d.by} is not in ${groups}, who may decide this escalation` };
    return { type: REFUSAL.notApprover, note: `not an approver: ${d.by} is not in ${groups}` };
  }
  if (open.request.type !== 'escalation' && d.verdict === 'approve' && open.request.decisions.some((x) => x.accepted && x.by === d.by && x.verdict === 'approve')) {
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

/**
 * Groups asked about an escalation when the runbook names none
 * (`settings.escalation.approvers`): the on-call group, the same default as
 * an approval's.
 */
export const DEFAULT_ESCALATION_GROUPS: readonly string[] = ['oncall'];

/** The groups first asked about a failed step's escalation. */
export function escalationGroups(settings: { approvers?: readonly string[] | undefined } | undefined): string[] {
  const named = settings?.approvers;
  return [...(named && named.length > 0 ? named : DEFAULT_ESCALATION_GROUPS)];
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
