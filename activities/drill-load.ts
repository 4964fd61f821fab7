import { setTimeout as sleep } from 'node:timers/promises';
import { parseDuration, type LoadSpec } from '../schemas/runbook';
import type { ChunkHooks } from './drill-canary';
import { chunkOutages, recordAttempt, startOutages, type Outage } from '../engine/outages';

/*
 * Client traffic during a drill: GETs of the runbook's `load.url` at a fixed
 * rate, counted as failed when they get a non-2xx answer or none in time.
 * Open loop: each request leaves on its own timetable whether or not the
 * previous one answered, so a hung service shows as failures instead of as a
 * slower load.
 */

/** Heartbeat period of a load chunk. @default 1000 */
const LOAD_HEARTBEAT_MS = 1_000;

/** Input of one load chunk. */
export interface LoadChunkRequest {
  load: LoadSpec;
  durationMs: number;
  /** `from` of an outage the previous chunk left open. */
  openOutage?: string;
}

/** What one load chunk did; outages are ordered by the time each request was sent. */
export interface LoadChunkResult {
  sent: number;
  failed: number;
  outages: Outage[];
}

async function get(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Sends `load.rate` GETs a second for `durationMs` (or until `hooks.signal`
 * aborts), then waits for the last answers (at most `load.timeout`). An
 * outage runs from the sending time of its first failed request to that of
 * the first later-sent request that succeeded.
 */
export async function sendLoad(req: LoadChunkRequest, hooks: ChunkHooks = {}): Promise<LoadChunkResult> {
  const timeoutMs = parseDuration(req.load.timeout);
  const gapMs = 1_000 / req.load.rate;
  const start = Date.now();
  const end = start + req.durationMs;
  const inFlight: Promise<{ at: string; ok: boolean }>[] = [];
  let failed = 0;
  let lastBeat = start;
  for (let i = 0; start + i * gapMs < end; i++) {
    const wait = start + i * gapMs - Date.now();
    if (wait > 0 && !(await sleep(wait, true, hooks.signal ? { signal: hooks.signal } : {}).catch(() => false))) break;
    if (hooks.signal?.aborted) break;
    const at = new Date().toISOString();
    inFlight.push(
      get(req.load.url, timeoutMs).then((ok) => {
        if (!ok) failed += 1;
        return { at, ok };
      }),
    );
    if (Date.now() - lastBeat >= LOAD_HEARTBEAT_MS) {
      lastBeat = Date.now();
      hooks.heartbeat?.({ sent: inFlight.length, failed });
    }
  }
  const results = await Promise.all(inFlight);
  const outages = startOutages(req.openOutage);
  for (const r of results) recordAttempt(outages, r.ok, r.at);
  return { sent: results.length, failed: results.filter((r) => !r.ok).length, outages: chunkOutages(outages) };
}
