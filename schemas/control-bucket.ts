import { z } from 'zod';

/**
 * The JetStream KV bucket operators use to steer every worker at once
 * (`runbook pause` / `runbook resume`, or the API's /control routes); the CLI
 * and the API write it and the guard activities read it.
 */
export const CONTROL_BUCKET = 'runbook_control';

/** The key in {@link CONTROL_BUCKET} that holds the global pause switch. */
export const PAUSE_KEY = 'paused';

/**
 * The value under {@link PAUSE_KEY}. Workers read `paused` only (and fail safe
 * on anything else); the other fields say who set it, why, when and through
 * which channel (`http`, `console`; absent when written by the CLI), and
 * further fields are kept, so an older reader never trips over a newer writer.
 */
export const PauseRecord = z.looseObject({
  paused: z.boolean(),
  by: z.string().optional(),
  reason: z.string().optional(),
  at: z.string().optional(),
  channel: z.string().optional(),
});
export type PauseRecord = z.infer<typeof PauseRecord>;
