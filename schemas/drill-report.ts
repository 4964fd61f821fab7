import { z } from 'zod';
import { Objectives } from './runbook';

/*
 * The evidence of one disaster-recovery drill: what was injected, what the
 * incident did, what was measured against the runbook's objectives, and
 * whether the starting state was put back. The drill workflow builds it,
 * the audit stream keeps it (`drill.report` events), `runbook drills` reads
 * it back; docs/schemas/drill-report.schema.json is generated from this schema.
 */

const Iso = z.string().describe('ISO 8601 date-time');
const Ms = z.number().int().nonnegative().describe('milliseconds');
const Count = z.number().int().nonnegative();

/** A drill approved when it was requested, by a member of the drill's approver groups. */
export const DrillApprovalNow = z.strictObject({
  by: z.string().describe('authenticated identity of the approver'),
  at: Iso,
  reason: z.string(),
  channel: z.string(),
});

/** A scheduled drill: its schedule was approved once, when it was made. */
export const DrillPreApproval = z.strictObject({
  preApproved: z.strictObject({ by: z.string(), at: Iso, reason: z.string(), scheduleId: z.string() }),
});

export const DrillApproval = z.union([DrillApprovalNow, DrillPreApproval]);
export type DrillApproval = z.infer<typeof DrillApproval>;

/** A canary record as the drill saw it. */
const CanaryRecord = z.strictObject({ seq: Count, at: Iso });

/** What the write canary counted: records written, and which of them the serving side still holds. */
export const CanaryMeasurements = z.strictObject({
  written: Count,
  writeFailures: Count,
  newestBeforeFault: CanaryRecord.optional().describe('the last record written (acknowledged) before the fault'),
  newestOnServing: CanaryRecord.optional().describe('the newest record written before the fault that the side now serving holds'),
  presentOnServing: Count.optional().describe('records the serving side holds'),
  lost: Count.optional().describe('records written before the fault that the serving side does not hold'),
});
export type CanaryMeasurements = z.infer<typeof CanaryMeasurements>;

/** Times and counts the drill measured; a milestone never reached is absent. */
export const DrillMeasurements = z.strictObject({
  faultAt: Iso.optional(),
  detectedAt: Iso.optional().describe('the incident opened'),
  trafficRestoredAt: Iso.optional().describe('the end of the last outage the load probe or canary saw after the fault'),
  healedAt: Iso.optional().describe('the incident closed resolved'),
  rtoMs: Ms.optional().describe('fault → traffic restored'),
  healMs: Ms.optional().describe('fault → incident healed'),
  rpoMs: Ms.optional().describe('fault time − time of the newest canary record on the serving side'),
  failedRequests: Count.optional(),
  requestsSent: Count.optional(),
  canary: CanaryMeasurements.optional(),
});
export type DrillMeasurements = z.infer<typeof DrillMeasurements>;

/** What each grade is of: the runbook's objectives, and whether the incident healed and the start state came back. */
export const GRADE_OBJECTIVES = ['rto', 'heal', 'rpo', 'failed_requests', 'data_loss', 'healed', 'restored'] as const;
export type GradeObjective = (typeof GRADE_OBJECTIVES)[number];

export const DrillGrade = z.strictObject({
  objective: z.enum(GRADE_OBJECTIVES),
  target: z.string().describe('as written in the runbook, e.g. 30s'),
  measured: z.string().describe('in the same units, or why nothing was measured'),
  pass: z.boolean(),
});
export type DrillGrade = z.infer<typeof DrillGrade>;

export const RestoreStep = z.strictObject({
  id: z.string(),
  status: z.enum(['succeeded', 'failed', 'skipped']),
  summary: z.string().optional(),
  error: z.string().optional(),
});
export type RestoreStep = z.infer<typeof RestoreStep>;

/** Whether the starting state was put back: the restore steps, then the steady-state checks. */
export const DrillRestore = z.strictObject({
  ok: z.boolean(),
  steps: z.array(RestoreStep),
  checks: z.array(z.strictObject({ target: z.string(), ok: z.boolean(), detail: z.string().optional() })),
});
export type DrillRestore = z.infer<typeof DrillRestore>;

/** How a drill ended: graded pass or fail, refused before it began, or stopped without a grade. */
export const DRILL_RESULTS = ['passed', 'failed', 'rejected', 'aborted'] as const;
export type DrillResult = (typeof DRILL_RESULTS)[number];

/** The incident the fault opened, as it ended. */
export const DrillIncident = z.strictObject({
  incidentId: z.string(),
  runId: z.string(),
  status: z.string(),
  outcome: z.string(),
  openedAt: Iso,
  closedAt: Iso.optional(),
  auditCommand: z.string().optional().describe('the command that prints its audit record, e.g. runbook audit incident/model/m1'),
  temporalUiUrl: z.string().optional(),
});
export type DrillIncident = z.infer<typeof DrillIncident>;

/** The runbook's objectives, as the report copies them (a drill of a runbook without any carries `{}`). */
export const DrillObjectives = z.strictObject(Objectives.shape);
export type DrillObjectives = z.infer<typeof DrillObjectives>;

/** The audit event that carries a drill report: `{ event, incidentId: <drillId>, at, report }`. */
export const DRILL_REPORT_EVENT = 'drill.report';

/** One drill's report. */
export const DrillReport = z.strictObject({
  drillId: z.string().describe('drill/<service>/<target>/<runbook>/<stamp>'),
  runbook: z.strictObject({ name: z.string(), version: z.union([z.string(), z.number()]), hash: z.string() }),
  service: z.string(),
  target: z.string(),
  dryRun: z.boolean(),
  scheduled: z.strictObject({ scheduleId: z.string() }).optional(),
  approval: DrillApproval.optional().describe('absent when the drill was rejected or never approved'),
  requestedBy: z.string().optional(),
  startedAt: Iso,
  endedAt: Iso,
  temporalUiUrl: z.string().optional(),
  incident: DrillIncident.optional(),
  incidentAudit: z.record(z.string(), z.unknown()).optional().describe('the incident\'s audit record (docs/schemas/audit.schema.json)'),
  timeline: z.array(z.strictObject({ at: Iso, what: z.string() })),
  measurements: DrillMeasurements,
  objectives: DrillObjectives,
  grades: z.array(DrillGrade),
  restored: DrillRestore,
  result: z.enum(DRILL_RESULTS),
  reasons: z.array(z.string()).describe('why the drill failed, was rejected or aborted, in words'),
});
export type DrillReport = z.infer<typeof DrillReport>;
