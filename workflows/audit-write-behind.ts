import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { AuditEventActivities } from '../activities/audit-events';
import type { HumanRequest, IncidentState, StepRecord } from '../schemas/incident-state';
import type { LifecycleEvent } from '../schemas/lifecycle-event';

/** Audit stream writes: a few quick tries, then the incident counts a gap and goes on with remediation. */
const auditActivities = proxyActivities<AuditEventActivities>({ startToCloseTimeout: '5s', scheduleToCloseTimeout: '30s', retry: { maximumAttempts: 3, initialInterval: '500ms', maximumInterval: '2s' } });

/**
 * Routine step completions written to the audit stream together, at most this
 * many at a time; anything else (opened, a failure, a request for a human,
 * closed) is written at once with everything before it.
 */
const AUDIT_BATCH = 8;

/** A lifecycle event before the workflow stamps it with run, sequence and time. */
export type Unstamped<E> = E extends LifecycleEvent ? Omit<E, 'incidentId' | 'runId' | 'seq' | 'at'> : never;

/** What the audit of one incident needs. */
export interface AuditOptions {
  incidentId: string;
  /** Where gaps (events that could not be written) are counted. */
  state: IncidentState;
  now: () => string;
  /** False for incidents started before lifecycle auditing: nothing is written. */
  audited: boolean;
  /** True for incidents started with write-behind; older ones await each write. */
  lean: boolean;
  /** Events the incident's earlier runs recorded (continue-as-new), so sequence numbers go on. */
  seq?: number;
}

/**
 * The incident's lifecycle events on their way to the audit stream: stamped
 * with the run, a per-run sequence number and the time, then written behind
 * the incident's progress in batches. A write that fails after its retries
 * counts as a gap in the state; it never stops remediation.
 */
export class AuditWriteBehind {
  private seq = 0;
  /** Stamped events waiting for the writer. */
  private readonly backlog: LifecycleEvent[] = [];
  /** The writer while it runs. */
  private writer: Promise<void> | undefined;
  /** Something other than a routine step completion is waiting: write without waiting for a full batch. */
  private urgent = false;

  constructor(private readonly opts: AuditOptions) {
    this.seq = opts.seq ?? 0;
  }

  /** Events recorded so far, by this run and the runs it continues. */
  get sequence(): number {
    return this.seq;
  }

  /** Records an event: queued behind the incident (lean), or written and awaited (older incidents). */
  async record(event: Unstamped<LifecycleEvent>): Promise<void> {
    const { opts } = this;
    if (!opts.audited) return;
    this.seq += 1;
    // The first run's id names the incident across continue-as-new (the same as the run id until it continues).
    const stamped = { ...event, incidentId: opts.incidentId, runId: workflowInfo().firstExecutionRunId, seq: this.seq, at: opts.now() } as LifecycleEvent;
    if (opts.lean) {
      // A copy, because the step and incident records it points into keep changing while it waits.
      this.backlog.push(JSON.parse(JSON.stringify(stamped)) as LifecycleEvent);
      if (!(event.event === 'step.finished' && (event.status === 'succeeded' || event.status === 'skipped'))) this.urgent = true;
      if (this.due()) this.writer ??= this.writeBehind();
      return;
    }
    try {
      await auditActivities.recordAuditEvent(stamped);
    } catch {
      // The record lives on in the history; remediation must not wait on the audit stream.
      opts.state.auditGaps = (opts.state.auditGaps ?? 0) + 1;
    }
  }

  /** Starts writing whatever is queued, before the incident waits for a while. */
  writeNow(): void {
    this.urgent = true;
    if (this.due()) this.writer ??= this.writeBehind();
  }

  /** Resolves once the write under way, if any, has finished; starts none, so what is queued waits for the next record. */
  async settled(): Promise<void> {
    while (this.writer) await this.writer;
  }

  /** Resolves once every event recorded so far was written (or counted as a gap). */
  async flushed(): Promise<void> {
    this.writeNow();
    while (this.writer) await this.writer;
  }

  /** Records that a step reached an end, with every try. */
  stepEnded(rec: StepRecord): Promise<void> {
    return this.record({
      event: 'step.finished',
      stepId: rec.id,
      kind: rec.kind,
      status: rec.status,
      attempts: rec.attempts.length,
      tries: rec.attempts,
      ...(rec.input !== undefined ? { input: rec.input } : {}),
      ...(rec.summary !== undefined ? { summary: rec.summary } : {}),
      ...(rec.lastError !== undefined && rec.status !== 'succeeded' ? { error: rec.lastError } : {}),
      ...(rec.skipReason !== undefined ? { skipReason: rec.skipReason } : {}),
      ...(rec.startedAt !== undefined ? { startedAt: rec.startedAt } : {}),
      ...(rec.finishedAt !== undefined ? { finishedAt: rec.finishedAt } : {}),
      ...(rec.durationMs !== undefined ? { durationMs: rec.durationMs } : {}),
    });
  }

  /** Records how a request for a human settled, with every decision it received. */
  requestDecided(event: 'approval.decided' | 'escalation.decided', r: HumanRequest): Promise<void> {
    return this.record({ event, requestId: r.requestId, step: r.step, outcome: r.outcome ?? 'timeout', decidedAt: r.decidedAt ?? this.opts.now(), decisions: r.decisions });
  }

  private due(): boolean {
    return this.backlog.length > 0 && (this.urgent || this.backlog.length >= AUDIT_BATCH);
  }

  private async writeBehind(): Promise<void> {
    while (this.due()) {
      this.urgent = false;
      const batch = this.backlog.splice(0);
      try {
        await auditActivities.recordAuditEvents(batch);
      } catch {
        this.opts.state.auditGaps = (this.opts.state.auditGaps ?? 0) + batch.length;
      }
    }
    this.writer = undefined;
  }
}
