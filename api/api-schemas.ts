import { z } from 'zod';

/*
 * Response shapes as the OpenAPI document publishes them. Bodies the
 * workflows own (incident and drill state) are described by their stable
 * fields and let the rest through, so a field a workflow adds reaches
 * clients without an API release.
 */

/** Every refusal the API answers itself. */
export const ErrorBody = z.object({ error: z.string() });

export const IncidentSummaryBody = z.looseObject({
  incidentId: z.string(),
  runId: z.string(),
  workflowStatus: z.string(),
  incidentStatus: z.string().optional(),
  service: z.string().optional(),
  target: z.string().optional(),
  faultKind: z.string().optional(),
  severity: z.string().optional(),
  runbook: z.string().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
});

export const IncidentListBody = z.object({ incidents: z.array(IncidentSummaryBody) });

export const IncidentStateBody = z.looseObject({
  incidentId: z.string(),
  service: z.string(),
  target: z.string(),
  kind: z.string(),
  status: z.string(),
  dryRun: z.boolean(),
  openedAt: z.string(),
  epoch: z.number(),
  steps: z.array(z.looseObject({ id: z.string() })),
  requests: z.array(z.looseObject({ requestId: z.string(), step: z.string() })),
});

export const DecisionReplyBody = z.looseObject({
  incidentId: z.string(),
  accepted: z.boolean(),
  queued: z.boolean().optional(),
  refusal: z.string().optional(),
  reason: z.string().optional(),
});

export const DrillStateBody = z.looseObject({ drillId: z.string(), runbook: z.string(), service: z.string(), target: z.string(), phase: z.string() });

export const DrillDecisionReplyBody = z.looseObject({ drillId: z.string(), accepted: z.boolean(), refusal: z.string().optional(), reason: z.string().optional() });

export const ScheduleApprovalReplyBody = z.looseObject({ scheduleId: z.string(), accepted: z.boolean(), refusal: z.string().optional(), reason: z.string().optional() });

/** The answers every guarded route may give before its handler runs. */
export const GUARD_REPLIES = { 401: ErrorBody, 429: ErrorBody } as const;
