import type { FaultEvent } from './fault-event';
import type { IncidentState } from './incident-state';
import type { Runbook } from './runbook';

/** The runbook an incident runs, frozen at start so editing the file never changes it. */
export interface RunbookSnapshot {
  name: string;
  version: string | number;
  /** sha256 of the canonical definition. */
  hash: string;
  definition: Runbook;
}

/** Input of the incident workflow. */
export interface IncidentInput {
  /** Workflow id: `incident/<service>/<target>`. */
  incidentId: string;
  /** The fault that opened the incident. */
  fault: FaultEvent;
  /** The runbook routing chose; absent when none applies (the incident only records faults). */
  runbook?: RunbookSnapshot;
  /** Plan every action without side effects. */
  dryRun?: boolean;
  /**
   * Without a runbook, how long after the last fault the incident closes as
   * `unresolved_quiet` when no resolved signal came.
   * @default '24h'
   */
  quietPeriod?: string;
  /** Tests only: continue as new once the history has this many events (normally the server's suggestion decides). */
  continueAsNewAfterEvents?: number;
  /** Set by the incident itself when it continued as new. */
  carried?: CarriedIncident;
}

/**
 * Where a long incident was when it continued as new: the state plus what the
 * runbook interpreter needs to go on exactly there, without repeating steps or
 * asking again for what was already decided.
 */
export interface CarriedIncident {
  state: IncidentState;
  /** Index of the runbook step to run next, or the one waiting. */
  next: number;
  /** `escalation`: step `next` failed and waits for a decision (its compensations already ran). */
  phase: 'step' | 'escalation';
  /** Steps whose compensations are still owed, in the order they succeeded. */
  undo: string[];
  /** Step problems counted by a dry run so far. */
  planProblems: number;
  leaseHeld: boolean;
  flapChecked: boolean;
  resolvedByMonitor: boolean;
  /** The request waiting for a human; the new run waits on it rather than asking again. */
  pendingRequestId?: string;
  /** Escalation notices sent for the pending escalation. */
  notices?: number;
  /** Lifecycle events recorded so far, so audit sequence numbers go on. */
  auditSeq: number;
}
