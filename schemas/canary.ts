import { z } from 'zod';

/*
 * The write-canary protocol a drill speaks to the service under test (the
 * demo model server implements it; docs/runbooks.md#the-canary-protocol
 * describes it for any other service): POST a record, then GET the newest
 * record written at or before a time, so the drill can tell how much data the
 * side now serving holds.
 */

/** A drill's id as canary records carry it: printable ASCII, no spaces. */
export const CanaryDrillId = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable ASCII characters without spaces');

const IsoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-01-31T23:59:59.000Z' });

/** One canary write: `POST` body, kept as one JSON line. */
export const CanaryRecord = z.object({
  seq: z.int('must be an integer').min(0, 'must not be negative'),
  at: IsoTime,
  drill: CanaryDrillId,
});
export type CanaryRecord = z.infer<typeof CanaryRecord>;

/** Query of a canary read: `GET ?drill=<id>&before=<ISO time>`. */
export const CanaryQuery = z.object({ drill: CanaryDrillId, before: IsoTime });
export type CanaryQuery = z.infer<typeof CanaryQuery>;

/** A record's sequence number and the time written in it. */
export const CanaryMark = z.object({ seq: z.int().min(0), at: IsoTime });
export type CanaryMark = z.infer<typeof CanaryMark>;

/** What a canary read answers: the newest of the drill's records written at or before `before`, and how many such records the instance holds. */
export const CanaryReading = z.object({ instance: z.string(), newest: CanaryMark.nullable(), count: z.int().min(0) });
export type CanaryReading = z.infer<typeof CanaryReading>;

/** `field: message` of a failed parse's first issue, for 400 answers and errors. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/**
 * The newest record of `query.drill` written at or before `query.before`, and
 * how many of that drill's records were. Ties on time go to the higher seq.
 */
export function readCanary(records: Iterable<CanaryRecord>, query: CanaryQuery): { newest: CanaryMark | null; count: number } {
  const limit = Date.parse(query.before);
  let newest: { mark: CanaryMark; ms: number } | null = null;
  let count = 0;
  for (const r of records) {
    const ms = Date.parse(r.at);
    if (r.drill !== query.drill || ms > limit) continue;
    count += 1;
    if (!newest || ms > newest.ms || (ms === newest.ms && r.seq > newest.mark.seq)) newest = { mark: { seq: r.seq, at: r.at }, ms };
  }
  return { newest: newest?.mark ?? null, count };
}
