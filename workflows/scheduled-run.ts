import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { GuardActivities } from '../activities/guard-activities';
import type { FaultEvent } from '../schemas/fault-event';
import type { ServiceId, TargetId } from '../schemas/identifiers';
import type { IncidentInput } from '../schemas/incident-input';
import type { IncidentResult } from '../schemas/incident-state';
import { drillIdFor, DRILL_WORKFLOW, type DrillInput } from '../schemas/drill-input';
import type { DrillReport } from '../schemas/drill-report';
import { launcherIdFor, SCHEDULED_FAULT_KIND, scheduledIncidentId, type ScheduledRunInput, type ScheduledRunResult } from '../schemas/scheduled-run';
import { SA } from '../schemas/search-attributes';

const guard = proxyActivities<Pick<GuardActivities, 'incidentRunning'>>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '10s' } });

/**
 * One run of a Temporal Schedule: opens an ordinary `incident` with the
 * schedule's runbook snapshot and a synthetic `scheduled` fault, under its own
 * workflow id, and waits for it to end, so the schedule's overlap policy sees
 * the run as running for as long as its incident does (and cancelling this
 * run asks the incident to cancel). When a fault-driven incident is open on
 * the target and the runbook says `if_incident_open: skip`, it opens none.
 *
 * A schedule cannot start the incident itself: Temporal appends the run's
 * time to the workflow id it is given, while the incident must know its own
 * id in its input (approvals, audit and leases are addressed by it).
 */
export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const info = workflowInfo();
  const service = input.service as ServiceId;
  const target = input.target as TargetId;
  if (input.drill) return launchDrill(input, info.workflowId, info.runId);
  if (input.ifIncidentOpen === 'skip') {
    // The fault-driven incident's id (`incidentIdFor`, which workflow code cannot import with its zod schemas).
    const open = `incident/${service}/${target}`;
    if (await guard.incidentRunning(open)) return { ran: false, skipped: `${open} is open; this scheduled run of ${input.runbook.name} was skipped (if_incident_open: skip)` };
  }
  const incidentId = scheduledIncidentId(input, info.workflowId, info.runId);
  const fault = {
    id: `scheduled:${info.runId}` as FaultEvent['id'],
    source: `schedule:${input.scheduleId}`,
    service,
    target,
    kind: SCHEDULED_FAULT_KIND,
    severity: 'info',
    status: 'firing',
    observedAt: new Date(info.startTime).toISOString(),
    labels: { schedule: input.scheduleId },
    annotations: {},
    runbook: input.runbook.name,
  } as FaultEvent;
  const incidentInput: IncidentInput = { incidentId, fault, runbook: input.runbook, dryRun: input.dryRun };
  const result = await executeChild<(i: IncidentInput) => Promise<IncidentResult>>('incident', {
    workflowId: incidentId,
    args: [incidentInput],
    parentClosePolicy: 'REQUEST_CANCEL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: SA.service, value: service },
      { key: SA.target, value: target },
      { key: SA.faultKind, value: SCHEDULED_FAULT_KIND },
      { key: SA.severity, value: 'info' },
      { key: SA.runbook, value: input.runbook.name },
      { key: SA.incidentStatus, value: 'confirming' },
    ],
  });
  return { ran: true, incidentId, status: result.status, outcome: result.outcome };
}

/**
 * One run of a drill schedule: a drill of the runbook on the schedule's
 * target, under its own id. It asks the drill group for approval unless the
 * schedule was approved (`preApproved`); if an incident is open on the target
 * the drill itself refuses to add a fault to it.
 */
async function launchDrill(input: ScheduledRunInput, launcherId: string, runId: string): Promise<ScheduledRunResult> {
  const prefix = `${launcherIdFor(input.scheduleId)}-`;
  const when = launcherId.startsWith(prefix) ? launcherId.slice(prefix.length).replace(/[^0-9A-Za-z]/g, '') : runId;
  const drillId = drillIdFor(input.service, input.target, input.runbook.name, when);
  const drillInput: DrillInput = {
    drillId,
    runbook: input.runbook,
    service: input.service,
    target: input.target,
    dryRun: input.dryRun,
    requestedBy: `schedule:${input.scheduleId}`,
    ...(input.preApproved ? { preApproved: input.preApproved } : {}),
  };
  const report = await executeChild<(i: DrillInput) => Promise<DrillReport>>(DRILL_WORKFLOW, {
    workflowId: drillId,
    args: [drillInput],
    parentClosePolicy: 'REQUEST_CANCEL',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: SA.service, value: input.service },
      { key: SA.target, value: input.target },
      { key: SA.runbook, value: input.runbook.name },
    ],
  });
  return { ran: true, drillId, result: report.result };
}
