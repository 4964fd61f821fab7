import { z } from 'zod';
import { isHaproxyName, isRsyncPath, parseHaproxySocket } from './adapter-inputs';
import { DURATION_PATTERN, DURATION_RULE } from './duration';
import { ServiceId, TargetId } from './identifiers';

/**
 * The replication file: the pairs whose replica follows its source, each with
 * how often it is copied, how far behind it may fall, the service and target
 * its `replication_lag` faults name, and the HAProxy server whose isolation
 * stops it.
 */

/** Kind of the fault raised when a replica is further behind its source than its `max_lag`. */
export const REPLICATION_LAG_KIND = 'replication_lag';

const Duration = z.string().regex(DURATION_PATTERN, DURATION_RULE);

/**
 * The load-balancer server that serves the source's data. Replication runs
 * only while it is in rotation (admin state ready) and up: once it is down or
 * fenced (maint, drain) the replica may be serving and taking writes, and a
 * copy from the source would overwrite them.
 */
export const ReplicationFence = z.strictObject({
  haproxy: z.strictObject({
    socket: z.string().refine((s) => parseHaproxySocket(s) !== undefined, 'must be an absolute socket path or tcp://host:port'),
    backend: z.string().refine(isHaproxyName, 'must be an HAProxy name'),
    server: z.string().refine(isHaproxyName, 'must be an HAProxy name'),
  }),
});
export type ReplicationFence = z.infer<typeof ReplicationFence>;

export const ReplicationPair = z
  .strictObject({
    /** Directory whose contents are copied (read only). */
    source: z.string().refine(isRsyncPath, 'must be an absolute local path'),
    /** Directory made to hold exactly the source's contents (`--delete`). */
    replica: z.string().refine(isRsyncPath, 'must be an absolute local path'),
    /** `service` of the faults raised for this pair, which routes them to a runbook. */
    service: ServiceId,
    /** `target` of those faults: one incident per pair. */
    target: TargetId,
    /** Time between the end of one copy and the start of the next. @default 5s */
    interval: Duration.default('5s'),
    /** Lag past which a `replication_lag` fault is raised. @default 1m */
    max_lag: Duration.default('1m'),
    /** Compare file contents instead of size and modification time (reads every file on both sides each pass). @default false */
    checksum: z.boolean().default(false),
    fence: ReplicationFence.optional(),
    /** Labels copied onto the faults, e.g. for routing. */
    labels: z.record(z.string(), z.string()).optional(),
  })
  .refine((p) => p.source.replace(/\/+$/, '') !== p.replica.replace(/\/+$/, ''), { message: 'must differ from source', path: ['replica'] });
export type ReplicationPair = z.infer<typeof ReplicationPair>;

/** Pair name → what is replicated. */
export const ReplicationFile = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be a name of letters, digits, ".", "_" or "-"'), ReplicationPair);
export type ReplicationFile = z.infer<typeof ReplicationFile>;
