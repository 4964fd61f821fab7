import { allHandlersFinished, condition, continueAsNew, workflowInfo } from '@temporalio/workflow';
import type { CarriedIncident, IncidentInput } from '../schemas/incident-input';
import type { IncidentResult } from '../schemas/incident-state';

/** History length at which an incident continues as new even if the server has not suggested it yet. */
export const MAX_HISTORY_EVENTS = 8_000;

/** Where the runbook interpreter stands, for the next run to go on from. */
export type RunbookPosition = Pick<CarriedIncident, 'next' | 'phase' | 'undo' | 'planProblems' | 'notices'>;

/** What the parts of the incident hand over when it continues as new. */
export interface RolloverSources {
  input: IncidentInput;
  carried(): Omit<CarriedIncident, 'next' | 'phase' | 'undo' | 'planProblems' | 'notices' | 'pendingRequestId'>;
  /** Written before the run ends, so nothing queued for the audit stream is lost. */
  flushAudit(): Promise<void>;
}

/**
 * Continues a long incident as a new run at a safe point (waiting for a
 * human or for resolution, or between steps), carrying its state so the new
 * run goes on exactly there: no step runs twice and nothing decided is asked
 * again. The history of each run stays bounded.
 */
export class Rollover {
  /** Set by the runbook interpreter while it runs. */
  position: (() => RunbookPosition) | undefined;

  constructor(
    private readonly sources: RolloverSources,
    private readonly enabled: boolean,
  ) {}

  /** Whether this run should end here and go on in a new one. */
  due(): boolean {
    if (!this.enabled) return false;
    const info = workflowInfo();
    const limit = this.sources.input.continueAsNewAfterEvents;
    return info.continueAsNewSuggested || info.historyLength >= (limit ?? MAX_HISTORY_EVENTS);
  }

  /** Ends this run and starts the next with the state carried; `pendingRequestId` is the request still waiting. Never returns. */
  async now(pendingRequestId?: string): Promise<never> {
    await this.sources.flushAudit();
    await condition(allHandlersFinished);
    const position = this.position?.() ?? { next: 0, phase: 'step', undo: [], planProblems: 0 };
    const carried: CarriedIncident = { ...this.sources.carried(), ...position, ...(pendingRequestId !== undefined ? { pendingRequestId } : {}) };
    // Typed by signature rather than by the workflow function, which would make an import cycle.
    return continueAsNew<(input: IncidentInput) => Promise<IncidentResult>>({ ...this.sources.input, carried });
  }
}
