/*
 * Pure: duration strings of runbooks. Kept free of imports (zod included) so
 * workflow code can use it through `engine/duration.ts`, and the zod
 * `Duration` in `schemas/runbook.ts` is built on the same pattern.
 */

/** An integer followed by `ms`, `s`, `m` or `h`. */
export const DURATION_PATTERN = /^([1-9][0-9]*)(ms|s|m|h)$/;
const DURATION_UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Human wording of {@link DURATION_PATTERN}, reused by the zod schema. */
export const DURATION_RULE = 'must be a duration like 500ms, 5s, 2m or 1h';

/**
 * Milliseconds in a duration string such as `500ms`, `5s`, `2m` or `1h`.
 * The format is a subset of what Temporal accepts, so the strings can also be
 * passed to Temporal unchanged.
 * @throws RangeError when the string is not a positive duration.
 */
export function parseDuration(s: string): number {
  const m = DURATION_PATTERN.exec(s);
  const unit = m?.[2] === undefined ? undefined : DURATION_UNIT_MS[m[2]];
  if (!m?.[1] || unit === undefined) {
    throw new RangeError(`not a duration: "${s}" (expected e.g. 500ms, 5s, 2m, 1h)`);
  }
  return Number(m[1]) * unit;
}
