import { z } from 'zod';
import { RequestFields } from '../schemas/lifecycle-event';

/**
 * The audit record of one incident: everything that happened, from the
 * workflow history and state, in one document. `runbook audit --json` prints
 * it; docs/schemas/audit.schema.json is generated from this schema.
 */

const Iso = z.string().describe('ISO 8601 date-time');
const Millis = z.number().int().nonnegative().nullable().describe('milliseconds, or null when the milestone was not reached');

export const AuditDecision = z.strictObject({
  by: z.string().describe('authenticated identity'),
  channel: z.string(),
  at: Iso,
  verdict: z.string(),
  reason: z.string(),
  accepted: z.boolean(),
  note: z.string().optional().describe('why a refused attempt was refused'),
  source: z.enum(['history', 'audit-stream']),
});
export type AuditDecision = z.infer<typeof AuditDecision>;

export const AuditRequest = z.strictObject({
  ...RequestFields,
  requestedAt: Iso,
  decidedAt: Iso.optional(),
  outcome: z.string().optional(),
  decisions: z.array(AuditDecision),
});
export type AuditRequest = z.infer<typeof AuditRequest>;

export const AuditAttempt = z.strictObject({
  attempt: z.number().int().positive(),
  startedAt: Iso,
  finishedAt: Iso,
  durationMs: z.number().int().nonnegative(),
  ok: z.boolean(),
  error: z.string().optional(),
  errorType: z.string().optional(),
});
export type AuditAttempt = z.infer<typeof AuditAttempt>;

export const AuditStep = z.strictObject({
  id: z.string(),
  kind: z.string(),
  status: z.string(),
  input: z.unknown().describe('the action as run, templates resolved, secret values redacted'),
  attempts: z.array(AuditAttempt),
  error: z.string().optional(),
  output: z.record(z.string(), z.unknown()).optional(),
  summary: z.string().optional(),
  startedAt: Iso.optional(),
  finishedAt: Iso.optional(),
  durationMs: z.number().int().nonnegative().optional(),
  skipReason: z.string().optional(),
});
export type AuditStep = z.infer<typeof AuditStep>;

export const AuditRecord = z.strictObject({
  source: z
    .enum(['history', 'audit-stream'])
    .optional()
    .describe('where the record came from: the workflow history, or only the long-retention audit stream once the history is gone'),
  incidentId: z.string(),
  runId: z.string(),
  service: z.string(),
  target: z.string(),
  kind: z.string(),
  status: z.string(),
  outcome: z.string().nullable(),
  dryRun: z.boolean(),
  openedAt: Iso,
  closedAt: Iso.nullable(),
  faults: z.strictObject({
    count: z.number().int().positive().describe('fault events coalesced into this incident'),
    eventIds: z.array(z.string()).describe('every fault event id absorbed, in arrival order'),
    resolvedSignals: z.number().int().nonnegative(),
    severity: z.string(),
    firstSeen: Iso,
    lastSeen: Iso,
  }),
  routing: z
    .strictObject({ runbook: z.string(), version: z.union([z.string(), z.number()]), hash: z.string() })
    .nullable()
    .describe('the runbook routing chose, as snapshotted'),
  drill: z.strictObject({ drillId: z.string(), markedAt: Iso }).optional().describe('the drill that provoked this incident (docs/drills.md); absent for real incidents'),
  steps: z.array(AuditStep),
  requests: z.array(AuditRequest),
  compensations: z.array(
    z.strictObject({ forStep: z.string(), kind: z.string(), ok: z.boolean(), at: Iso, summary: z.string().optional(), error: z.string().optional() }),
  ),
  timings: z.strictObject({
    toConfirmMs: Millis,
    toIsolateMs: Millis,
    toRestoreTrafficMs: Millis,
    toRecoverMs: Millis,
  }),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

/** Stable identifier of the published audit schema. */
export const AUDIT_SCHEMA_ID = 'urn:self-healing-runbooks:schema:audit:v1';

/** The published JSON Schema (draft 2020-12) of {@link AuditRecord}, as text. */
export function renderAuditJsonSchema(): string {
  const { $schema, ...rest } = z.toJSONSchema(AuditRecord, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' });
  return `${JSON.stringify({ $schema, $id: AUDIT_SCHEMA_ID, title: 'AuditRecord', description: 'One incident as `runbook audit --json` prints it.', ...rest }, null, 2)}\n`;
}
