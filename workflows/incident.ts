import { condition, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { SA } from '../schemas/search-attributes';
import { absorbFault, openLedger } from './fault-ledger';
import type { IncidentState, IncidentStatus } from './incident-state';
import type { IncidentInput } from './incident-input';
import { faultObserved, faultResolved, incidentState } from './messages';


/** How an incident ended. */
export interface IncidentResult {
  status: IncidentStatus;
  outcome: string;
  faultsAbsorbed: number;
}

/** One open incident per (service, target): absorbs repeat faults until it closes. */
export async function incident(input: IncidentInput): Promise<IncidentResult> {
  const seen = new Set<string>([input.fault.id]);
  const state: IncidentState = {
    incidentId: input.incidentId,
    service: input.fault.service,
    target: input.fault.target,
    kind: input.fault.kind,
    status: 'confirming',
    dryRun: input.dryRun ?? false,
    openedAt: new Date(workflowInfo().startTime).toISOString(),
    faults: openLedger(input.fault),
    steps: [],
    firstFault: input.fault,
  };
  let resolvedByMonitor = false;

  setHandler(faultObserved, (event) => {
    if (absorbFault(state.faults, event, seen)) setSeverity();
  });
  setHandler(faultResolved, (event) => {
    if (absorbFault(state.faults, event, seen)) resolvedByMonitor = true;
  });
  setHandler(incidentState, () => state);

  const setSeverity = (): void => upsertSearchAttributes([{ key: SA.severity, value: state.faults.severity }]);
  const setStatus = (status: IncidentStatus): void => {
    state.status = status;
    upsertSearchAttributes([{ key: SA.incidentStatus, value: status }]);
  };

  setStatus('confirming');
  await condition(() => resolvedByMonitor);
  setStatus('resolved');
  state.outcome = 'recovered';
  state.closedAt = new Date().toISOString();
  return { status: state.status, outcome: state.outcome, faultsAbsorbed: state.faults.count };
}

export type { IncidentInput };
