import { InvalidSpecError } from './adapters/errors';
import { syncData } from './adapters/rsync';
import type { SyncProgress } from './adapters/rsync';
import type { SyncDataAction } from '../schemas/runbook';
import { heartbeat, performed, planned, withHeartbeats } from './action-context';
import type { ActionContext } from './action-context';
import { callCommand } from './call-command';
import type { ActionResult } from './types';

/** Heartbeat detail of a running sync: rsync's own progress, in snake_case like step outputs. */
export function progressDetails(p: SyncProgress): Record<string, unknown> {
  return { phase: p.phase, bytes: p.bytes, percent: p.percent, items_seen: p.itemsSeen, elapsed_ms: p.elapsedMs };
}

/**
 * Copies data with rsync (checksummed, then verified by a read-only second
 * pass), heartbeating rsync's progress; or runs the runbook's own command.
 */
export async function runSync(ctx: ActionContext, action: SyncDataAction): Promise<ActionResult> {
  if (action.rsync) {
    const { source, destination } = action.rsync;
    const r = await syncData({
      source,
      destination,
      delete: action.rsync.delete,
      dryRun: ctx.dryRun,
      timeoutMs: ctx.timeoutMs,
      onProgress: (p) => heartbeat(progressDetails(p)),
      ...(ctx.deps.rsyncPath === undefined ? {} : { rsyncPath: ctx.deps.rsyncPath }),
    });
    const counts = {
      files_transferred: r.filesTransferred,
      bytes_transferred: r.bytesTransferred,
      total_files: r.totalFiles,
      deleted_files: r.deletedFiles,
    };
    if (r.dryRun) return planned(r.plan, counts);
    return performed(
      `synced ${source} -> ${destination}: ${r.filesTransferred} file(s), ${r.bytesTransferred} byte(s), ${r.deletedFiles} deleted, verified`,
      { ...counts, verified: r.verified, duration_ms: r.durationMs },
    );
  }
  if (action.command) {
    const command = action.command;
    const r = await withHeartbeats(() => ({ phase: 'command' }), () => callCommand(ctx, command));
    if (r.dryRun) return planned(r.plan);
    return performed(`sync via ${command.argv[0] ?? ''}: exit ${r.output.exit_code}`, { ...r.output });
  }
  throw new InvalidSpecError('sync_data needs one of rsync or command');
}
