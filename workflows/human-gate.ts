import { condition, uuid4 } from '@temporalio/workflow';
import type { HumanRequest } from '../schemas/incident-state';
import { NOTHING_WAITING, refusalFor, approvalTally, type GateDecision, type Refusal, type RefusalRules, type Settle } from '../engine/approval-rules';

type Opened = Omit<HumanRequest, 'requestId' | 'requestedAt' | 'decisions'>;

/**
 * Requests to humans and their answers: the bookkeeping and the wait. Exactly
 * one verdict takes effect per request; a decision the approval rules refuse
 * (approval-rules.ts) is recorded as refused and changes nothing.
 */
export class HumanGate {
  private open: { request: HumanRequest; accept: Settle; verdict?: string } | undefined;

  constructor(
    private readonly requests: HumanRequest[],
    private readonly now: () => string,
    private readonly rules: RefusalRules,
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
    accept: Settle,
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
    return refusalFor(this.open, this.requests, d, this.rules);
  }

  /** Records a decision; returns why it was refused, or undefined when it counted. */
  receive(d: GateDecision): Refusal | undefined {
    const refusal = this.check(d) ?? (this.open ? undefined : NOTHING_WAITING);
    if (refusal) {
      this.refuse(d, refusal.note);
      return refusal;
    }
    const open = this.open;
    if (!open) return NOTHING_WAITING;
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
    return approvalTally(this.open?.request);
  }
}
