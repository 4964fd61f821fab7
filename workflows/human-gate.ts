import { condition, uuid4 } from '@temporalio/workflow';
import type { HumanRequest } from './incident-state';
import type { DecisionBase } from './messages';

/** A decision as the gate receives it. */
export interface GateDecision extends DecisionBase {
  verdict: string;
}

/**
 * Requests to humans and their answers. Exactly one verdict takes effect per
 * request; a decision for another step or an older request is recorded as
 * refused and changes nothing.
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
   * first of two approvals). Resolves to the verdict, or 'timeout'.
   */
  async ask(
    request: Omit<HumanRequest, 'requestId' | 'requestedAt' | 'decisions'>,
    accept: (d: GateDecision) => string | undefined,
    timeoutMs: number | undefined,
  ): Promise<{ verdict: string; request: HumanRequest }> {
    const full: HumanRequest = { ...request, requestId: uuid4(), requestedAt: this.now(), decisions: [] };
    this.requests.push(full);
    this.open = { request: full, accept };
    const settled = () => this.open?.verdict !== undefined;
    const answered = timeoutMs === undefined ? (await condition(settled), true) : await condition(settled, timeoutMs);
    const verdict = answered ? (this.open?.verdict ?? 'timeout') : 'timeout';
    full.decidedAt = this.now();
    full.outcome = verdict;
    this.open = undefined;
    return { verdict, request: full };
  }

  /** Records a decision; returns why it was refused, or undefined when it counted. */
  receive(d: GateDecision): string | undefined {
    const open = this.open;
    const at = this.now();
    const last = this.requests[this.requests.length - 1];
    const refuse = (note: string): string => {
      (open?.request ?? last)?.decisions.push({ by: d.by, channel: d.channel, reason: d.reason, at, verdict: d.verdict, accepted: false, note });
      return note;
    };
    if (!open) return refuse('stale: no request is waiting');
    if (open.verdict !== undefined) return refuse('stale: the request was already decided');
    if (d.step !== open.request.step) return refuse(`unknown step: ${d.step} is not waiting (waiting: ${open.request.step})`);
    if (d.requestId !== undefined && d.requestId !== open.request.requestId) return refuse('stale: answers an earlier request');
    open.request.decisions.push({ by: d.by, channel: d.channel, reason: d.reason, at, verdict: d.verdict, accepted: true });
    const verdict = open.accept(d);
    if (verdict !== undefined) open.verdict = verdict;
    return undefined;
  }
}
