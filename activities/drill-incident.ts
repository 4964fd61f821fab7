import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { NatsConnection } from 'nats';
import { buildAuditRecord, redact } from '../audit/build-audit';
import { ensureAuditStream, jetStreamAuditSink } from '../audit/audit-stream';
import { restoredTrafficAt } from '../audit/availability';
import { publishDrillReport } from '../audit/drill-reports';
import type { DrillReport } from '../schemas/drill-report';
import type { IncidentResult } from '../schemas/incident-state';

/*
 * The drill's view of the incident it provoked: it waits for the ordinary
 * intake to open one, then for it to end, reading Temporal as any client
 * would. The drill never steers the incident; it only watches, and at the
 * end files its report in the audit stream.
 */

/** The incident run a drill's fault opened. */
export interface DrillIncidentRun {
  runId: string;
  openedAt: string;
}

/** How the drill's incident ended, or that it had not when the drill stopped waiting. */
export interface DrillIncidentEnd {
  ended: boolean;
  status?: string;
  outcome?: string;
  openedAt?: string;
  closedAt?: string;
  /** When the runbook put traffic back (the audit record's milestone). */
  trafficRestoredAt?: string;
  /** The incident's audit record, secrets redacted. */
  audit?: Record<string, unknown>;
}

const POLL_MS = 500;
/** Runs that started this long before the fault still count: the servers' clocks may disagree a little. */
const START_SLACK_MS = 2_000;

export interface DrillIncidentDeps {
  client: Client;
  nats?: NatsConnection | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Builds the drill's incident-watching and reporting activities. */
export function createDrillIncidentActivities(deps: DrillIncidentDeps) {
  return {
    /** Waits up to `timeoutMs` for a run of `incidentId` opened at or after `after`; undefined when none did. */
    async awaitDrillIncident(req: { incidentId: string; after: string; timeoutMs: number }): Promise<DrillIncidentRun | undefined> {
      const deadline = Date.now() + req.timeoutMs;
      const after = Date.parse(req.after) - START_SLACK_MS;
      for (;;) {
        Context.current().heartbeat();
        try {
          const d = await deps.client.workflow.getHandle(req.incidentId).describe();
          if (d.startTime.getTime() >= after) return { runId: d.runId, openedAt: d.startTime.toISOString() };
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        if (Date.now() >= deadline) return undefined;
        await sleep(POLL_MS);
      }
    },

    /** Waits up to `timeoutMs` for the run to end and reads how it did; `ended: false` when it had not. */
    async awaitIncidentEnd(req: { incidentId: string; runId: string; timeoutMs: number }): Promise<DrillIncidentEnd> {
      const deadline = Date.now() + req.timeoutMs;
      const handle = deps.client.workflow.getHandle(req.incidentId, req.runId, { followRuns: false });
      for (;;) {
        Context.current().heartbeat();
        const d = await handle.describe();
        if (d.status.name !== 'RUNNING') break;
        if (Date.now() >= deadline) return { ended: false };
        await sleep(POLL_MS);
      }
      const result = (await handle.result().catch(() => undefined)) as IncidentResult | undefined;
      const d = await handle.describe();
      if (!result) return { ended: true, status: d.status.name.toLowerCase(), openedAt: d.startTime.toISOString(), ...(d.closeTime ? { closedAt: d.closeTime.toISOString() } : {}) };
      const state = result.state;
      const restored = restoredTrafficAt(state.steps);
      const audit = redact(buildAuditRecord({ state, runId: req.runId, faultEventIds: state.faults.recentEventIds })) as Record<string, unknown>;
      return {
        ended: true,
        status: result.status,
        outcome: result.outcome,
        openedAt: state.openedAt,
        closedAt: state.closedAt ?? d.closeTime?.toISOString() ?? new Date().toISOString(),
        ...(restored ? { trafficRestoredAt: restored } : {}),
        audit,
      };
    },

    /** Asks an incident the drill gave up waiting for to cancel (its compensations run), so the restore does not race it. */
    async cancelIncident(req: { incidentId: string; runId: string }): Promise<void> {
      await deps.client.workflow.getHandle(req.incidentId, req.runId, { followRuns: false }).cancel().catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
    },

    /** Files a drill report in the audit stream (subject of the drill's target), once per drill. */
    async publishDrillReport(report: DrillReport): Promise<void> {
      const nc = deps.nats;
      if (!nc) throw ApplicationFailure.retryable('drill report not filed: this worker has no NATS connection yet', 'AuditUnavailable');
      await ensureAuditStream(await nc.jetstreamManager());
      await publishDrillReport(jetStreamAuditSink(nc.jetstream()), report);
    },
  };
}

/** The activity interface as workflows see it (`import type` only). */
export type DrillIncidentActivities = ReturnType<typeof createDrillIncidentActivities>;
