import { z } from 'zod';

/*
 * Response shapes of the routes the console reads besides incidents and
 * decisions: the pause switch, dead letters, schedules, drill reports and
 * audit records. As in api-schemas.ts, bodies other modules own are
 * described by their stable fields and let the rest through.
 */

/** The pause switch as GET /control answers it; `paused: false` alone when never set. */
export const ControlBody = z.object({
  paused: z.boolean(),
  by: z.string().optional(),
  reason: z.string().optional(),
  at: z.string().optional(),
  channel: z.string().optional(),
});
export type ControlBody = z.infer<typeof ControlBody>;

/** What POST /control/pause and /control/resume take: why, always. */
export const ControlChangeBody = z.strictObject({
  reason: z.string().trim().min(1, 'a reason is required').max(2_000),
});

/** One dead letter as listed (intake/dead-letter-json.ts, without the original). */
export const DeadLetterSummaryBody = z.looseObject({
  id: z.number(),
  time: z.string(),
  reason: z.string(),
  error: z.string(),
  originalSubject: z.string(),
  size: z.number(),
  truncated: z.boolean(),
  sha256: z.string(),
  storedBytes: z.number(),
  preview: z.string(),
});

export const DeadLetterListBody = z.object({ deadLetters: z.array(DeadLetterSummaryBody) });

/** One dead letter in full: the original as UTF-8 text and as base64. */
export const DeadLetterBody = DeadLetterSummaryBody.omit({ preview: true }).extend({ original: z.string(), originalBase64: z.string() });

/** A replay takes nothing; an empty object is allowed for clients that always send one. */
export const ReplayRequestBody = z.strictObject({}).nullish();

export const ReplayReplyBody = z.object({ id: z.number(), subject: z.string(), stream: z.string(), seq: z.number() });

/** One schedule as `runbook schedule list --json` shows it, with its next and last run picked out. */
export const ScheduleBody = z.looseObject({
  scheduleId: z.string(),
  origin: z.string(),
  runbook: z.string().optional(),
  service: z.string().optional(),
  target: z.string().optional(),
  paused: z.boolean(),
  note: z.string().optional(),
  /** `every 1h`, `cron 0 * * * *`, or Temporal's own spec for a schedule made by hand. */
  when: z.string(),
  nextRun: z.string().optional(),
  lastRun: z.object({ at: z.string(), workflowId: z.string(), incidentId: z.string().optional() }).optional(),
});

export const ScheduleListBody = z.object({ schedules: z.array(ScheduleBody) });

/** One drill as `runbook drills list --json` shows it, with when it ended, its grades and measurements. */
export const DrillReportSummaryBody = z.looseObject({
  drillId: z.string(),
  runbook: z.string(),
  service: z.string(),
  target: z.string(),
  dryRun: z.boolean(),
  result: z.string(),
  rtoMs: z.number().nullable(),
  rpoMs: z.number().nullable(),
  startedAt: z.string(),
  /** When the drill ended and its report was stored. */
  at: z.string(),
  grades: z.array(z.looseObject({})),
  measurements: z.looseObject({}),
});

export const DrillReportListBody = z.object({ reports: z.array(DrillReportSummaryBody) });

