import type { Client } from '@temporalio/client';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { SA } from '../schemas/search-attributes';
import type { DecisionAck } from '../schemas/decisions';

const CLOSED_PAGE = 500;

/** Approval and outcome metrics, exposed by the approval API. */
export interface ApprovalMetrics {
  /** Call with each accepted decision; records the wait when it settled its request. */
  decided(ack: DecisionAck, at?: Date): void;
}

/**
 * Registers the metrics. Pending approvals are counted in Temporal visibility
 * at each scrape; incidents closed since this process started are picked up at
 * each scrape too, for the outcome counter and the time-to-recover histogram.
 */
export function createApprovalMetrics(registry: Registry, client: Client, since: Date = new Date()): ApprovalMetrics {
  let closedAfter = since.toISOString();
  const seen = new Set<string>();
  const outcomes = new Counter({ name: 'runbook_incidents_closed_total', help: 'Incidents closed since the API started, by final status.', labelNames: ['status'], registers: [registry] });
  const recover = new Histogram({
    name: 'runbook_time_to_recover_seconds',
    help: 'From incident open to close, for incidents that ended resolved.',
    buckets: [10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'runbook_approval_wait_seconds',
    help: 'From approval request to the decision that settled it (through the approval API).',
    labelNames: ['outcome'],
    buckets: [5, 15, 30, 60, 120, 300, 900, 1800, 3600, 14400],
    registers: [registry],
  });
  new Gauge({
    name: 'runbook_approvals_pending',
    help: 'Open incidents waiting for an approval (awaiting_approval or escalated).',
    registers: [registry],
    async collect() {
      const { count } = await client.workflow.count(
        `WorkflowType = 'incident' AND ExecutionStatus = 'Running' AND ${SA.incidentStatus.name} IN ('awaiting_approval', 'escalated')`,
      );
      this.set(count);
      await collectClosed();
    },
  });
  const collectClosed = async (): Promise<void> => {
    const query = `WorkflowType = 'incident' AND ExecutionStatus != 'Running' AND CloseTime > '${closedAfter}'`;
    let newest = closedAfter;
    let n = 0;
    for await (const wf of client.workflow.list({ query, pageSize: CLOSED_PAGE })) {
      if (++n > CLOSED_PAGE) break;
      const key = `${wf.workflowId}/${wf.runId}`;
      if (seen.has(key) || !wf.closeTime) continue;
      seen.add(key);
      const status = wf.typedSearchAttributes.get(SA.incidentStatus) ?? wf.status.name.toLowerCase();
      outcomes.inc({ status });
      if (status === 'resolved') recover.observe((wf.closeTime.getTime() - wf.startTime.getTime()) / 1000);
      if (wf.closeTime.toISOString() > newest) newest = wf.closeTime.toISOString();
    }
    // Keep a margin so incidents closing in the same instant are not skipped; `seen` drops the repeats.
    closedAfter = new Date(Math.max(Date.parse(closedAfter), Date.parse(newest) - 60_000)).toISOString();
    if (seen.size > 10_000) seen.clear();
  };
  return {
    decided(ack, at = new Date()) {
      if (ack.outcome === undefined || ack.requestedAt === undefined) return;
      wait.observe({ outcome: ack.outcome }, Math.max(0, (at.getTime() - Date.parse(ack.requestedAt)) / 1000));
    },
  };
}
