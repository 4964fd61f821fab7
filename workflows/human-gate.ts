import { condition, uuid4 } from '@temporalio/workflow';
import type { HumanRequest } from './incident-state';
import { REFUSAL, type DecisionBase, type RefusalType } from './messages';

/** A decision as the gate receives it. */
export interface GateDecision extends DecisionBase {
  verdict: string;
}

/** Why a decision cannot count, in words and as a failure type. */
export interface Refusal {
  type: RefusalType;
  note: string;
}

type Opened = Omit<HumanRequest, 'requestId' | 'requestedAt' | 'decisions'>;

/**
 * Requests to humans and their answers. Exactly one verdict takes effect per
 * request; a decision for another step, an older request, or from someone
 * outside the request's eligible approvers is recorded as refused and changes
 * nothing.
 */
export class HumanGate {
  private open: { request: HumanRequest; accept: (d: GateDecision) => string | undefined; verdict?: string } | undefined;

  constructor(
    private readonly requests: HumanRequest[],
    private readonly now: () => string,
  ) {}

  /** The request waiting for an answer, if any. */
  get pending(): HumanRequest | undefined {
    return this.open?.request;
  }

  /**
   * Opens a request and waits up to `timeoutMs` (forever when undefined) for a
   * verdict. `accept` returns the verdict to take effect for a decision, or
   * undefined when the decision counts but does not settle it yet (e.g. the
   * first of two approvals). `onOpen` runs once the request is visible (to
   * notify people); decisions may arrive meanwhile. Resolves to the verdict, or 'timeout'.
   */
  async ask(
    request: Opened,
    accept: (d: GateDecision) => string | undefined,
    timeoutMs: number | undefined,
    onOpen?: (request: HumanRequest) => Promise<void>,
  ): Promise<{ verdict: string; request: HumanRequest }> {
    const full: HumanRequest = { ...request, requestId: uuid4(), requestedAt: this.now(), decisions: [] };
    if (timeoutMs !== undefined) full.timeoutAt = new Date(Date.parse(full.requestedAt) + timeoutMs).toISOString();
    this.requests.push(full);
    this.open = { request: full, accept };
    const settled = () => this.open?.verdict !== undefined;
    const started = Date.now();
    if (onOpen) await onOpen(full);
    const left = timeoutMs === undefined ? undefined : Math.max(0, timeoutMs - (Date.now() - started));
    const answered = settled() || (left === undefined ? (await condition(settled), true) : left > 0 && (await condition(settled, left)));
    const verdict = answered ? (this.open?.verdict ?? 'timeout') : 'timeout';
    full.decidedAt = this.now();
    full.outcome = verdict;
    this.open = undefined;
    return { verdict, request: full };
  }

  /** The verdict of the open request once settled, before the waiting code moves on. */
  get verdict(): string | undefined {
    return this.open?.verdict;
  }

  /** Why `d` would be refused now, or undefined when it would count. Changes nothing (safe in an Update validator). */
  check(d: GateDecision): Refusal | undefined {
    const open = this.open;
    // A decision racing one that already moved the incident on is stale, not a mistake about the step.
    const decidedBefore = this.requests.some((r) => r !== open?.request && r.outcome !== undefined && (d.requestId !== undefined ? r.requestId === d.requestId : r.step === d.step));
    if (!open) return { type: REFUSAL.stale, note: decidedBefore ? 'stale: the request was already decided' : 'stale: no request is waiting' };
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

  /** Records a decision; returns why it was refused, or undefined when it counted. */
  receive(d: GateDecision): string | undefined {
    const refusal = this.check(d);
    if (refusal) return this.refuse(d, refusal.note);
    const open = this.open;
    if (!open) return this.refuse(d, 'stale: no request is waiting');
    open.request.decisions.push({ by: d.by, channel: d.channel, reason: d.reason, at: this.now(), verdict: d.verdict, accepted: true });
    const verdict = open.accept(d);
    if (verdict !== undefined) open.verdict = verdict;
    return undefined;
  }

  /** Records a refused attempt on the request it aimed at (the open one, else the one it names, else the latest). */
  refuse(d: GateDecision, note: string): string {
    const target =
      this.open?.request ??
      (d.requestId !== undefined ? this.requests.find((r) => r.requestId === d.requestId) : undefined) ??
      this.requests[this.requests.length - 1];
    target?.decisions.push({ by: d.by, channel: d.channel, reason: d.reason, at: this.now(), verdict: d.verdict, accepted: false, note });
    return note;
  }

  /** Accepted approvals on the open request and how many it needs. */
  tally(): { approvals: number; needed: number } {
    const r = this.open?.request;
    if (!r) return { approvals: 0, needed: 0 };
    return { approvals: new Set(r.decisions.filter((x) => x.accepted && x.verdict === 'approve').map((x) => x.by)).size, needed: r.minApprovals ?? 1 };
  }
}
