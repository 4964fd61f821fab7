import { z } from 'zod';
import { DURATION_PATTERN, DURATION_RULE } from './duration';

/** A share between 0 and 1, written as a number (`0.999`) or a percentage string (`"99.9%"`). */
const Share = z.union([
  z.number().min(0).max(1),
  z
    .string()
    .regex(/^(100|[0-9]{1,2})(\.[0-9]+)?%$/, 'must be a share: a number from 0 to 1 or a percentage like "99.9%"')
    .transform((s) => Number(s.slice(0, -1)) / 100)
    .refine((n) => n <= 1, 'must be at most 100%'),
]);

const Duration = z.string().regex(DURATION_PATTERN, DURATION_RULE);

/** What `runbook report` grades one service against; every field is optional. */
export const ServiceObjectives = z.strictObject({
  /** Least availability over the report's period. */
  availability: Share.optional(),
  /** Longest p90 time to restore traffic. */
  mttr: Duration.optional(),
  /** Shortest mean time between failures. */
  mtbf: Duration.optional(),
  /** Least share of healed incidents that no human had to decide. */
  healed_without_human: Share.optional(),
});
export type ServiceObjectives = z.infer<typeof ServiceObjectives>;

/** The objectives file: service name (as in fault events) → objectives. */
export const ObjectivesFile = z.record(z.string().min(1), ServiceObjectives);
export type ObjectivesFile = z.infer<typeof ObjectivesFile>;
