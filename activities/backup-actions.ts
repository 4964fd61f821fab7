import { ageSeconds, planRetention } from '../engine/retention';
import type { BackupAction, RestoreDataAction } from '../schemas/runbook';
import { listSnapshots, removeSnapshots, restoreSnapshot, takeSnapshot, verifySnapshot, type SnapshotInfo } from './adapters/snapshots';
import { VerificationFailedError } from './adapters/errors';
import { performed, planned, withHeartbeats } from './action-context';
import type { ActionContext } from './action-context';
import type { ActionResult } from './types';

function rsyncRun(ctx: ActionContext): { timeoutMs: number; rsyncPath?: string } {
  return { timeoutMs: ctx.timeoutMs, ...(ctx.deps.rsyncPath === undefined ? {} : { rsyncPath: ctx.deps.rsyncPath }) };
}

/** What a step's output says of a snapshot: its id, creation time, size and age (the recovery point it offers). */
export function snapshotOutput(s: SnapshotInfo, now: number): Record<string, unknown> {
  return {
    snapshot: s.id,
    created_at: s.manifest.created_at,
    age_seconds: ageSeconds(s.createdAt, now),
    files: s.manifest.files,
    bytes: s.manifest.bytes,
  };
}

/**
 * A `backup` step: a new `--link-dest` snapshot, its verification (a restore
 * into a scratch directory checked against the manifest), then retention.
 * Retried with the same idempotency key, it finds the snapshot it took.
 */
export async function runBackup(ctx: ActionContext, action: BackupAction): Promise<ActionResult> {
  const run = rsyncRun(ctx);
  const taken = await withHeartbeats(
    () => ({ phase: 'snapshot' }),
    () => takeSnapshot({ source: action.source, repository: action.repository, key: ctx.idempotencyKey, dryRun: ctx.dryRun, ...run }),
  );
  if (taken.dryRun) return planned(taken.plan, { link_dest: taken.linkDest });
  const { snapshot } = taken;
  if (action.verify && snapshot.verification?.ok !== true) {
    const v = await withHeartbeats(() => ({ phase: 'verify', snapshot: snapshot.id }), () => verifySnapshot({ snapshot, ...run }));
    if (!v.ok) {
      throw new VerificationFailedError(`snapshot ${snapshot.id} failed verification: ${v.difference_count} difference(s): ${v.differences.slice(0, 5).join('; ')}`);
    }
  }
  const now = Date.now();
  const { all, remove } = await withHeartbeats(
    () => ({ phase: 'retention', snapshot: snapshot.id }),
    async () => {
      const listed = await listSnapshots(action.repository);
      const plan = planRetention(
        listed.map((s) => ({ id: s.id, createdAt: s.createdAt, verified: s.verification?.ok === true })),
        action.retention,
        now,
      );
      // The snapshot just taken always stays, whatever the policy says of it.
      const doomed = plan.remove.filter((id) => id !== snapshot.id).sort();
      await removeSnapshots(action.repository, doomed);
      return { all: listed, remove: doomed };
    },
  );
  const output = {
    ...snapshotOutput(snapshot, now),
    link_dest: taken.linkDest,
    new_bytes: snapshot.manifest.new_bytes,
    verified: snapshot.verification?.ok === true,
    kept: all.length - remove.length,
    removed: remove,
  };
  const linked = taken.linkDest ? `, hard-linked to ${taken.linkDest}` : ', full copy';
  return performed(
    `${taken.replayed ? 'found' : 'took'} snapshot ${snapshot.id} of ${action.source}: ${snapshot.manifest.files} file(s), ${snapshot.manifest.new_bytes} of ${snapshot.manifest.bytes} byte(s) new${linked}${output.verified ? ', verified' : ''}; retention removed ${remove.length}, kept ${output.kept}`,
    output,
  );
}

/**
 * A `restore_data` step: the newest verified snapshot (or the named one)
 * restored into the destination and every file checked against its manifest.
 * The output's `age_seconds` is the recovery point: how old the restored data is.
 */
export async function runRestoreData(ctx: ActionContext, action: RestoreDataAction): Promise<ActionResult> {
  const r = await withHeartbeats(
    () => ({ phase: 'restore' }),
    () => restoreSnapshot({ repository: action.repository, destination: action.destination, dryRun: ctx.dryRun, ...(action.snapshot ? { snapshot: action.snapshot } : {}), ...rsyncRun(ctx) }),
  );
  const now = Date.now();
  const output = snapshotOutput(r.snapshot, now);
  if (r.dryRun) return planned(r.plan, output);
  return performed(
    `restored snapshot ${r.snapshot.id} into ${action.destination}: ${r.snapshot.manifest.files} file(s) checked against its manifest; recovery point ${output.age_seconds as number}s old`,
    { ...output, destination: action.destination, verified: true, checked: r.check.checked },
  );
}
