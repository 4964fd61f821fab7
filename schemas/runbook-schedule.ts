import { z } from 'zod';
import { DURATION_PATTERN, DURATION_RULE, parseDuration } from './duration';
import { SafeId } from './identifiers';

/**
 * The `schedule:` block of a runbook: when the runbook runs by itself, on
 * which targets, and what Temporal does with a run that is due while the
 * previous one still runs. Each target gets its own Temporal Schedule.
 */

const Duration = z.string().regex(DURATION_PATTERN, DURATION_RULE);

/** How a due run meets one still running (Temporal's overlap policy, in snake case). */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Shortest interval Temporal schedules keep to. */
export const MIN_SCHEDULE_INTERVAL_MS = 1_000;

/** Temporal refuses a catch-up window below ten seconds. */
export const MIN_CATCHUP_WINDOW_MS = 10_000;

/** Five cron fields (minute hour day-of-month month day-of-week), or a macro such as `@hourly`. */
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;
const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function cronProblem(cron: string): string | undefined {
  const text = cron.trim();
  if (CRON_MACROS.includes(text)) return undefined;
  const fields = text.split(/\s+/);
  if (fields.length !== 5) return `must be five cron fields (minute hour day-of-month month day-of-week) or one of ${CRON_MACROS.join(', ')}; found ${fields.length} field(s)`;
  const bad = fields.find((f) => !CRON_FIELD.test(f));
  return bad === undefined ? undefined : `cron field "${bad}" holds characters cron does not use`;
}

/** A target a scheduled run acts on: the `fault.service` and `fault.target` its steps read. */
export const ScheduleTarget = z.strictObject({ service: SafeId, target: SafeId });
export type ScheduleTarget = z.infer<typeof ScheduleTarget>;

export const RunbookSchedule = z
  .strictObject({
    /** Run every interval, e.g. `1h` (counted from the Unix epoch, so every worker agrees). */
    every: Duration.refine((d) => parseDuration(d) >= MIN_SCHEDULE_INTERVAL_MS, 'must be at least 1s').optional(),
    /** Run at the times of a cron expression, e.g. `"0 * * * *"`. */
    cron: z.string().superRefine((c, ctx) => {
      const problem = cronProblem(c);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }).optional(),
    /** IANA time zone for `cron`, e.g. `Europe/Berlin`. @default UTC */
    timezone: z.string().regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, 'must be an IANA time zone such as UTC or Europe/Berlin').optional(),
    /** One schedule per target, each run acting on that target. */
    targets: z.array(ScheduleTarget).min(1, 'targets must name at least one { service, target }'),
    /** What a run due while the previous one still runs does. @default skip */
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    /** How late a run missed while Temporal was down may still start; older ones are dropped. @default 10m */
    catchup_window: Duration.refine((d) => parseDuration(d) >= MIN_CATCHUP_WINDOW_MS, 'must be at least 10s').default('10m'),
    /** Each run starts up to this much later than due, so many schedules do not fire at once. */
    jitter: Duration.optional(),
    /** Pause the schedule when a run fails, until an operator unpauses it. @default false */
    pause_on_failure: z.boolean().default(false),
    /**
     * A run that is due while a fault-driven incident is open on its target:
     * `skip` it (recorded on the schedule's run) or `run` it alongside. @default skip
     */
    if_incident_open: z.enum(['skip', 'run']).default('skip'),
  })
  .superRefine((s, ctx) => {
    const present = (['every', 'cron'] as const).filter((k) => s[k] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: present.length > 1 ? ['cron'] : [],
        message: present.length === 0 ? 'a schedule needs one of: every, cron' : 'a schedule takes only one of: every, cron (found every, cron)',
      });
    }
    if (s.timezone !== undefined && s.cron === undefined) {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'timezone only applies to cron' });
    }
    const seen = new Map<string, number>();
    s.targets.forEach((t, i) => {
      const key = `${t.service}/${t.target}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['targets', i], message: `duplicate target ${key} (first listed as targets[${first}])` });
      else seen.set(key, i);
    });
  });
export type RunbookSchedule = z.infer<typeof RunbookSchedule>;
