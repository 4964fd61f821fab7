import type { RequestType } from './decisions';
import type { FaultEvent, Severity } from './fault-event';

/*
 * An incident as the workflow keeps it: plain data that the CLI, the API, the
 * audit and the workflow all read, so none of them imports another for it.
 */

/** Values of the `incidentStatus` search attribute. */
export type IncidentStatus =
  | 'confirming'
  | 'remediating'
  | 'awaiting_approval'
  | 'escalated'
  | 'resolved'
  | 'false_alarm'
  | 'failed'
  | 'aborted'
  /** Closed without a runbook after a quiet period with no new faults (outcome `unresolved_quiet`). */
  | 'unresolved';

/** Faults coalesced into one incident. */
export interface FaultsAbsorbed {
  count: number;
  firstEventId: string;
  lastEventId: string;
  firstSeen: string;
  lastSeen: string;
  /** Highest severity seen; only ever raised. */
  severity: Severity;
  /** Most recent event ids, newest last (bounded). */
  recentEventIds: string[];
  resolvedSignals: number;
}

/** One try of a step's action. */
export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  error?: string;
  errorType?: string;
}

/** Result of one runbook step as the workflow saw it. */
export interface StepRecord {
  id: string;
  name?: string;
  kind: string;
  status: 'pending' | 'waiting_approval' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensated';
  attempts: AttemptRecord[];
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  lastError?: string;
  /** At most 8 KiB of JSON; a larger output is cut and marked `truncated: true` with `originalBytes` (engine/truncate-output.ts). */
  output?: Record<string, unknown>;
  summary?: string;
  plan?: string;
  dryRun?: boolean;
  /** The action as run, templates resolved (secrets are referenced by name only). */
  input?: unknown;
  skipReason?: string;
  /** Dry run: the approval this step would have waited for. */
  approvalPlanned?: string;
}

/** A compensation run after a failure. */
export interface CompensationRecord {
  forStep: string;
  kind: string;
  ok: boolean;
  at: string;
  summary?: string;
  error?: string;
}

/** A request for a human and its answers. */
export interface HumanRequest {
  requestId: string;
  type: RequestType;
  step: string;
  reason: string;
  requestedAt: string;
  approvers?: string[];
  /** Members of `approvers` per the roster when the request opened; absent when no roster is configured. */
  eligible?: string[];
  /** Approvals needed to settle the request. */
  minApprovals?: number;
  /** When the request times out, if it does. */
  timeoutAt?: string;
  decidedAt?: string;
  outcome?: string;
  decisions: { by: string; channel: string; reason: string; at: string; verdict: string; accepted: boolean; note?: string }[];
  /** Refused decisions past the first few that were counted but not kept, so a flood cannot grow the state. */
  refusedOmitted?: number;
}

/** The incident as `runbook show` renders it. */
export interface IncidentState {
  incidentId: string;
  service: string;
  target: string;
  kind: string;
  status: IncidentStatus;
  outcome?: string;
  runbook?: { name: string; version: string | number; hash: string };
  dryRun: boolean;
  openedAt: string;
  closedAt?: string;
  faults: FaultsAbsorbed;
  currentStep?: string;
  steps: StepRecord[];
  compensations: CompensationRecord[];
  requests: HumanRequest[];
  /** Isolation token: raised by each verified isolation, passed to later steps. */
  epoch: number;
  lastError?: string;
  /** Set while a remediation step waits for `runbook resume`. */
  pausedSince?: string;
  pausedReason?: string;
  /** Lifecycle events that could not be written to the audit stream. */
  auditGaps?: number;
  /** `decisionRefused` signals dropped because the approval API had not signed them (none is attributed to anyone). */
  ignoredRefusals?: number;
  firstFault: FaultEvent;
  /** Set when a drill provoked this incident (workflows/drill.ts). */
  drill?: { drillId: string; markedAt: string };
}

/** How an incident ended: the incident workflow's result. */
export interface IncidentResult {
  status: IncidentStatus;
  outcome: string;
  faultsAbsorbed: number;
  /** The final state, so `runbook show` and the audit work after the workers that ran it are gone. */
  state: IncidentState;
}
