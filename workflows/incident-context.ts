import type { IncidentInput } from '../schemas/incident-input';
import type { IncidentState, IncidentStatus } from '../schemas/incident-state';
import type { AuditWriteBehind } from './audit-write-behind';
import type { Rollover } from './continue-as-new';
import type { HumanGate } from './human-gate';

/** How an incident ended. */
export interface Ending {
  status: IncidentStatus;
  outcome: string;
}

/**
 * Which behaviours this run has, from the patches it started with. Each is
 * read once, in the workflow's opening, so every module sees the same answer.
 */
export interface IncidentFlags {
  /** `audit-lifecycle`: lifecycle events go to the audit stream. */
  audited: boolean;
  /** `lean-steps`: audit writes behind the steps, and actions check the pause themselves. */
  lean: boolean;
  /** `remediation-guards`: pause, flap and blast-radius checks before remediation. */
  guarded: boolean;
  /** `verdict-fits-request`: a verdict must fit its request's type; guard overrides are `flap` and `budget` requests. */
  verdictsFit: boolean;
  /** `escalate-before-compensate`: a final failure asks a human first and undoes nothing unless they abort. */
  escalateFirst: boolean;
  /** `bounded-waits`: escalations time out as the runbook says; an incident without a runbook closes after a quiet period. */
  boundedWaits?: boolean;
  /** `bounded-records`: step outputs cut to a size, refused decisions capped per request. */
  boundedRecords?: boolean;
  /** `continue-as-new`: a long run continues as new with its state carried. */
  rolls?: boolean;
  /** `page-resolve`: a decided request is announced (its page resolved), and every escalation notifies (workflows/request-notices.ts). */
  paged?: boolean;
  /**
   * `lean-close`, read where first needed so incidents under way take it too:
   * a decided request's notice goes out while the incident goes on, and the
   * closing record is written with the last batch instead of after it.
   */
  leanClose(): boolean;
}

/** What the parts of one incident share, passed explicitly instead of closed over. */
export interface IncidentContext {
  input: IncidentInput;
  /** The state `runbook show` queries; the parts update it in place. */
  state: IncidentState;
  now: () => string;
  flags: IncidentFlags;
  audit: AuditWriteBehind;
  gate: HumanGate;
  /** Sets the status and its search attribute (only on a change). */
  setStatus(status: IncidentStatus): void;
  /** True once the monitor reported the fault resolved. */
  resolvedByMonitor(): boolean;
  /** Continues the incident as new when its history grew long (a no-op for incidents started before it). */
  rollover?: Rollover;
  /** Notices sent while the incident went on (`lean-close`); awaited before it closes or continues as new. */
  noticesInFlight: Promise<void>[];
}
