import { z } from 'zod';
import { REQUEST_TYPES } from './decisions';

/**
 * Incident lifecycle events as the workflow publishes them to the audit
 * stream. Each carries the run and a per-run sequence number, so a record can
 * be rebuilt in order from the stream alone once Temporal has dropped the
 * history.
 */

const Iso = z.string();

const Envelope = {
  incidentId: z.string(),
  runId: z.string(),
  seq: z.number().int().positive(),
  at: Iso,
};

const Attempt = z.object({
  attempt: z.number().int().positive(),
  startedAt: Iso,
  finishedAt: Iso,
  ok: z.boolean(),
  error: z.string().optional(),
  errorType: z.string().optional(),
});

const Decision = z.object({
  by: z.string(),
  channel: z.string(),
  reason: z.string(),
  at: Iso,
  verdict: z.string(),
  accepted: z.boolean(),
  note: z.string().optional(),
});

/** The incident opened: what it is about and which runbook (if any) it runs. */
export const IncidentOpened = z.object({
  ...Envelope,
  event: z.literal('incident.opened'),
  service: z.string(),
  target: z.string(),
  kind: z.string(),
  severity: z.string(),
  dryRun: z.boolean(),
  openedAt: Iso,
  firstFaultId: z.string(),
  runbook: z.object({ name: z.string(), version: z.union([z.string(), z.number()]), hash: z.string() }).nullable(),
  plan: z.array(z.object({ id: z.string(), kind: z.string() })),
});
export type IncidentOpened = z.infer<typeof IncidentOpened>;

/** A step reached an end (succeeded, failed or skipped); a retried step reports again. */
export const StepFinished = z.object({
  ...Envelope,
  event: z.literal('step.finished'),
  stepId: z.string(),
  kind: z.string(),
  status: z.string(),
  attempts: z.number().int().nonnegative(),
  tries: z.array(Attempt),
  input: z.unknown().optional(),
  summary: z.string().optional(),
  error: z.string().optional(),
  skipReason: z.string().optional(),
  startedAt: Iso.optional(),
  finishedAt: Iso.optional(),
  durationMs: z.number().int().nonnegative().optional(),
});
export type StepFinished = z.infer<typeof StepFinished>;

/** What identifies a request for a human, in the audit stream and in the audit record alike. */
export const RequestFields = {
  requestId: z.string(),
  type: z.enum(REQUEST_TYPES),
  step: z.string(),
  reason: z.string(),
  approvers: z.array(z.string()),
  eligible: z.array(z.string()).optional(),
  requestedAt: Iso,
};

/** A request for a human opened: an approval gate, a guard's override request, or an escalation after a failure. */
export const RequestOpened = z.object({
  ...Envelope,
  event: z.enum(['approval.requested', 'escalated']),
  ...RequestFields,
});
export type RequestOpened = z.infer<typeof RequestOpened>;

/** A request for a human settled, with every decision it received. */
export const RequestDecided = z.object({
  ...Envelope,
  event: z.enum(['approval.decided', 'escalation.decided']),
  requestId: z.string(),
  step: z.string(),
  outcome: z.string(),
  decidedAt: Iso,
  decisions: z.array(Decision),
});
export type RequestDecided = z.infer<typeof RequestDecided>;

/** The incident closed: how it ended, what was undone, how many faults it absorbed. */
export const IncidentClosed = z.object({
  ...Envelope,
  event: z.literal('incident.closed'),
  status: z.string(),
  outcome: z.string(),
  closedAt: Iso,
  faultsAbsorbed: z.number().int().nonnegative(),
  faults: z.object({
    recentEventIds: z.array(z.string()),
    resolvedSignals: z.number().int().nonnegative(),
    severity: z.string(),
    firstSeen: Iso,
    lastSeen: Iso,
  }),
  compensations: z.array(
    z.object({ forStep: z.string(), kind: z.string(), ok: z.boolean(), at: Iso, summary: z.string().optional(), error: z.string().optional() }),
  ),
  auditGaps: z.number().int().nonnegative(),
});
export type IncidentClosed = z.infer<typeof IncidentClosed>;

/**
 * The incident was caused by a drill (`runbook drill`): its downtime is a
 * rehearsal, not a failure. Published once, after `incident.opened`;
 * incidents before drills existed never carry it.
 */
export const IncidentDrill = z.object({
  ...Envelope,
  event: z.literal('incident.drill'),
  drillId: z.string(),
});
export type IncidentDrill = z.infer<typeof IncidentDrill>;

/** Any lifecycle event. */
export const LifecycleEvent = z.union([IncidentOpened, StepFinished, RequestOpened, RequestDecided, IncidentClosed, IncidentDrill]);
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** Names of the lifecycle events, to tell them from decision events on the same subjects. */
export const LIFECYCLE_EVENTS: readonly string[] = ['incident.opened', 'step.finished', 'approval.requested', 'escalated', 'approval.decided', 'escalation.decided', 'incident.closed', 'incident.drill'];
