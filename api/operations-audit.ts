import type { AuditSink } from '../audit/audit-stream';
import type { Logger } from '../observability/logger';
import type { Caller } from './auth-guard';

/**
 * The audit stream's id for operations that belong to no incident (pausing,
 * replaying a dead letter): their events land on `audit._._.<event>`, apart
 * from every incident's and drill's subjects.
 */
export const OPERATIONS_AUDIT_ID = 'operations';

/**
 * Records an operation someone did through the API. The operation has
 * already taken effect (and is recorded where it happened, such as the pause
 * record's `by`), so a failure to audit is logged rather than turned into an
 * error the caller would read as "not done".
 */
export async function auditOperation(audit: AuditSink | undefined, logger: Logger, event: string, caller: Caller, fields: Record<string, unknown>): Promise<void> {
  if (!audit) return;
  try {
    await audit.publish({ event, incidentId: OPERATIONS_AUDIT_ID, at: new Date().toISOString(), by: caller.identity, channel: caller.channel, ...fields });
  } catch (err) {
    logger.error('operation not recorded on the audit stream', { event, by: caller.identity, error: (err as Error).message });
  }
}
