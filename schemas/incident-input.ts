import type { FaultEvent } from './fault-event';
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
}
