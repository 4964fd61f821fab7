import type { FaultEvent, Severity } from '../schemas/fault-event';

/** Values of the `incidentStatus` search attribute. */
export type IncidentStatus =
  | 'confirming'
  | 'remediating'
  | 'awaiting_approval'
  | 'escalated'
  | 'resolved'
  | 'false_alarm'
  | 'failed'
  | 'aborted';

/** Statuses after which the incident is closed. */
export const TERMINAL_STATUSES: readonly IncidentStatus[] = ['resolved', 'false_alarm', 'failed', 'aborted'];

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

/** Result of one runbook step as the workflow saw it. */
export interface StepRecord {
  id: string;
  kind: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensated';
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  lastError?: string;
  output?: unknown;
  dryRun?: boolean;
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
  lastError?: string;
  firstFault: FaultEvent;
}
