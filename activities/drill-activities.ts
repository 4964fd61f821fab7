import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { mapAdapterErrors } from './action-errors';
import { readCanaries, writeCanaries, type CanaryChunkRequest, type CanaryChunkResult, type CanaryProgress, type CanaryReadRequest, type CanaryReadResult, type ChunkHooks } from './drill-canary';
import { sendLoad, type LoadChunkRequest, type LoadChunkResult } from './drill-load';

/*
 * The drill's measuring activities, as Temporal runs them: each chunk
 * heartbeats after every write (or every second of load) and stops early
 * once cancelled; the plain functions they wrap are in drill-canary.ts and
 * drill-load.ts.
 */

function hooks(): ChunkHooks {
  const ctx = Context.current();
  return { heartbeat: (details) => ctx.heartbeat(details), signal: ctx.cancellationSignal };
}

/** The progress a previous attempt of this chunk heartbeated, if it looks like one. */
function resumed(): CanaryProgress | undefined {
  const d: unknown = Context.current().info.heartbeatDetails;
  if (typeof d !== 'object' || d === null) return undefined;
  const p = d as Partial<CanaryProgress>;
  const numbers = [p.nextSeq, p.written, p.writeFailures, p.endsAt].every((n) => typeof n === 'number' && Number.isFinite(n));
  return numbers && typeof p.outages === 'object' && p.outages !== null && Array.isArray(p.outages.closed) ? (d as CanaryProgress) : undefined;
}

function throwIfCancelled(what: string): void {
  if (Context.current().cancellationSignal.aborted) throw new CancelledFailure(`${what} cancelled`);
}

/** Activities a drill workflow uses to measure RPO and failed requests. */
export function createDrillActivities() {
  return {
    /** Writes canary records for `durationMs`; a retried attempt carries on from its last heartbeat. */
    async canaryChunk(req: CanaryChunkRequest): Promise<CanaryChunkResult> {
      const result = await writeCanaries(req, hooks(), resumed());
      throwIfCancelled('canary chunk');
      return result;
    },
    /** The newest canary record the serving side holds written at or before `req.before`. */
    canaryRead: (req: CanaryReadRequest): Promise<CanaryReadResult> => mapAdapterErrors(() => readCanaries(req, Context.current().cancellationSignal)),
    /** Client load for `durationMs`, counting failed requests and outages. */
    async loadChunk(req: LoadChunkRequest): Promise<LoadChunkResult> {
      const result = await sendLoad(req, hooks());
      throwIfCancelled('load chunk');
      return result;
    },
  };
}
