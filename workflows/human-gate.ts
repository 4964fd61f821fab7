import { condition, uuid4 } from '@temporalio/workflow';
import type { HumanRequest } from '../schemas/incident-state';
import { NOTHING_WAITING, refusalFor, approvalTally, type GateDecision, type Refusal, type RefusalRules, type Settle } from '../engine/approval-rules';
import { keepRefusal } from './refusal-cap';

type Opened = Omit<HumanRequest, 'requestId' | 'requestedAt' | 'decisions'>;

/**
 * Requests to humans and their answers: the bookkeeping and the wait. Exactly
 * one verdict takes effect per request; a decision the approval rules refuse
 * (approval-rules.ts) is recorded as refused and changes nothing.
 */
export class HumanGate {
  private open: { request: HumanRequest; accept: Settle; verdict?: string } | undefined;
  /** A request a previous run left waiting (continue-as-new): the next matching ask waits on it instead of opening one. */
  private resumeId: string | undefined;

  constructor(
    private readonly requests: HumanRequest[],
    private readonly now: () => string,
    private readonly rules: RefusalRules,
    private readonly bounds: { capRefusals?: boolean; resume?: string; rolls?: { due(): boolean; now(pendingRequestId: string): Promise<never> } } = {},
  ) {
    this.resumeId = bounds.resume;
    // Open from the first moment of the new run, so a decision sent meanwhile counts; the next ask settles with it.
    const carried = this.requests.find((r) => r.requestId === bounds.resume && r.outcome === undefined);
    if (carried) this.open = { request: carried, accept: () => undefined };
  }

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
    const resumed = this.resumed(request);
    const full: HumanRequest = resumed ?? { ...request, requestId: uuid4(), requestedAt: this.now(), decisions: [] };
    if (!resumed && timeoutMs !== undefined) full.timeoutAt = new Date(Date.parse(full.requestedAt) + timeoutMs).toISOString();
    if (!resumed) this.requests.push(full);
    const open: { request: HumanRequest; accept: Settle; verdict?: string } = { request: full, accept };
    this.open = open;
    // Decisions the request already counted (in the previous run, or since this run began) count again; one may settle it.
    if (resumed) for (const d of full.decisions) if (d.accepted && open.verdict === undefined) open.verdict = accept({ ...d, step: full.step, requestId: full.requestId });
    const settled = () => this.open?.verdict !== undefined;
    const started = Date.now();
    if (onOpen && !resumed) await onOpen(full);
    const deadline = resumed?.timeoutAt !== undefined ? Date.parse(resumed.timeoutAt) : timeoutMs === undefined ? undefined : started + timeoutMs;
    const left = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
    // A run that grew long continues as new while it waits; the next run waits on the same request.
    const rolls = this.bounds.rolls;
    const stop = rolls ? () => settled() || rolls.due() : settled;
    const answered = settled() || (left === undefined ? (await condition(stop), true) : left > 0 && (await condition(stop, left)));
    if (rolls && !settled() && rolls.due()) await rolls.now(full.requestId);
    const verdict = answered ? (this.open?.verdict ?? 'timeout') : 'timeout';
    full.decidedAt = this.now();
    full.outcome = verdict;
    this.open = undefined;
    return { verdict, request: full };
  }

  /** The carried request `request` continues, if any; used once. */
  private resumed(request: Opened): HumanRequest | undefined {
    const id = this.resumeId;
    this.resumeId = undefined;
    const found = id === undefined ? undefined : this.requests.find((r) => r.requestId === id && r.outcome === undefined);
    if (found && found.type === request.type && found.step === request.step && found.reason === request.reason) return found;
    if (found) {
      // The run went another way (e.g. a guard's condition cleared), so the carried request is no longer asked.
      found.outcome = 'superseded';
      found.decidedAt = this.now();
    }
    return undefined;
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
    if (target && this.bounds.capRefusals && !keepRefusal(target)) return note;
    target?.decisions.push({ by: d.by, channel: d.channel, reason: d.reason, at: this.now(), verdict: d.verdict, accepted: false, note });
    return note;
  }

  /** Accepted approvals on the open request and how many it needs. */
  tally(): { approvals: number; needed: number } {
    return approvalTally(this.open?.request);
  }
}
