import { z } from 'zod';
import { isRsyncPath } from './adapter-inputs';
import { DURATION_PATTERN, DURATION_RULE } from './duration';
import { ServiceId, TargetId } from './identifiers';

/**
 * The backups file: the repositories whose freshness is watched, each with
 * the service and target its `backup_stale` faults name and how old its
 * newest verified snapshot may grow.
 */

/** Kind of the fault raised when a repository's newest verified snapshot is older than its `max_age`. */
export const BACKUP_STALE_KIND = 'backup_stale';

export const WatchedRepository = z.strictObject({
  repository: z.string().refine(isRsyncPath, 'must be an absolute local path'),
  /** `service` of the faults raised for this repository, which routes them to a runbook. */
  service: ServiceId,
  /** `target` of those faults: one incident per repository. */
  target: TargetId,
  /** Age of the newest verified snapshot past which the backup is stale. */
  max_age: z.string().regex(DURATION_PATTERN, DURATION_RULE),
  /** How often the repository is looked at. @default 30s */
  check_every: z.string().regex(DURATION_PATTERN, DURATION_RULE).default('30s'),
  /** Labels copied onto the faults, e.g. for routing. */
  labels: z.record(z.string(), z.string()).optional(),
});
export type WatchedRepository = z.infer<typeof WatchedRepository>;

/** Repository name → what is watched. */
export const BackupsFile = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a name of letters, digits, ".", "_" or "-"'), WatchedRepository);
export type BackupsFile = z.infer<typeof BackupsFile>;
