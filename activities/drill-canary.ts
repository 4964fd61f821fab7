import { setTimeout as sleep } from 'node:timers/promises';
import { CanaryReading, firstIssue, type CanaryMark, type CanaryRecord } from '../schemas/canary';
import { parseDuration, type CanarySpec } from '../schemas/runbook';
import { adapterError } from './adapters/errors';
import { chunkOutages, recordAttempt, startOutages, type Outage, type OutageState } from '../engine/outages';

/*
 * The drill's write canary (docs/runbooks.md#the-canary-protocol): records
 * `{ seq, at, drill }` POSTed to the service every `interval`, and the read
 * that asks the side now serving for the newest record it holds. The
 * workflow writes in chunks, one activity each, and reads once traffic is
 * restored; RPO is the fault time minus the newest record read.
 */

/** Longest a canary POST or GET may take. @default 2000 */
export const CANARY_REQUEST_TIMEOUT_MS = 2_000;
/** Attempts a canary read makes before it gives up on a transient failure. @default 3 */
export const CANARY_READ_ATTEMPTS = 3;

/** The canary's read URL answered, but not with a reading (a 4xx, or a body that is not one). */
export class CanaryRejectedError extends adapterError('CanaryRejected', false) {}
/** The canary's read URL did not answer, timed out or answered 5xx on every attempt. */
export class CanaryUnavailableError extends adapterError('CanaryUnavailable', true) {}

/** Input of one canary chunk. */
export interface CanaryChunkRequest {
  drillId: string;
  canary: CanarySpec;
  /** Sequence number of the chunk's first record; every attempt takes one, so a write that timed out but landed is never reused. */
  fromSeq: number;
  durationMs: number;
  /** `from` of an outage the previous chunk left open. */
  openOutage?: string;
}

/** What one canary chunk did. */
export interface CanaryChunkResult {
  /** `fromSeq` of the next chunk. */
  nextSeq: number;
  /** Writes the service acknowledged (2xx). */
  written: number;
  writeFailures: number;
  /** The newest acknowledged record, by the time written in it. */
  lastWritten?: CanaryMark;
  /** Runs of failed writes; see activities/outages.ts. */
  outages: Outage[];
}

/** Progress of a chunk, heartbeated so a retried attempt carries on instead of reusing sequence numbers. */
export interface CanaryProgress {
  nextSeq: number;
  written: number;
  writeFailures: number;
  lastWritten?: CanaryMark;
  outages: OutageState;
  /** Epoch ms at which the chunk ends. */
  endsAt: number;
}

/** How a chunk reports progress and learns it should stop; left out in plain-function use. */
export interface ChunkHooks {
  heartbeat?: (details: unknown) => void;
  signal?: AbortSignal;
}

/** Input of a canary read. */
export interface CanaryReadRequest {
  drillId: string;
  canary: CanarySpec;
  /** Only records written at or before this time count. */
  before: string;
}

/** What the serving side holds of the drill's canary. */
export interface CanaryReadResult {
  newest?: CanaryMark;
  count: number;
  /** The instance that answered, when it said. */
  instance?: string;
}

async function post(url: string, record: CanaryRecord, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record), signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Sleeps until `epochMs`; false when the hooks' signal aborted the wait. */
async function sleepUntil(epochMs: number, signal?: AbortSignal): Promise<boolean> {
  const ms = epochMs - Date.now();
  if (signal?.aborted) return false;
  if (ms <= 0) return true;
  return sleep(ms, true, signal ? { signal } : {}).catch(() => false);
}

/**
 * Writes canary records for `durationMs` (or until `hooks.signal` aborts),
 * one every `canary.interval` on a fixed timetable; a write that ran past its
 * slot makes the next one go at once rather than bunching up several.
 * `resume` carries on a retried attempt from its last heartbeat.
 */
export async function writeCanaries(req: CanaryChunkRequest, hooks: ChunkHooks = {}, resume?: CanaryProgress): Promise<CanaryChunkResult> {
  const intervalMs = parseDuration(req.canary.interval);
  const timeoutMs = Math.min(Math.max(intervalMs, 250), CANARY_REQUEST_TIMEOUT_MS);
  const p: CanaryProgress = resume ?? { nextSeq: req.fromSeq, written: 0, writeFailures: 0, outages: startOutages(req.openOutage), endsAt: Date.now() + req.durationMs };
  let due = Date.now();
  while (due < p.endsAt && (await sleepUntil(due, hooks.signal))) {
    const record: CanaryRecord = { seq: p.nextSeq, at: new Date().toISOString(), drill: req.drillId };
    p.nextSeq += 1;
    const ok = await post(req.canary.write.url, record, timeoutMs);
    recordAttempt(p.outages, ok, record.at);
    if (ok) {
      p.written += 1;
      p.lastWritten = { seq: record.seq, at: record.at };
    } else p.writeFailures += 1;
    hooks.heartbeat?.(p);
    due = Math.max(due + intervalMs, Date.now());
  }
  return { nextSeq: p.nextSeq, written: p.written, writeFailures: p.writeFailures, ...(p.lastWritten ? { lastWritten: p.lastWritten } : {}), outages: chunkOutages(p.outages) };
}

async function readOnce(url: URL): Promise<CanaryReadResult> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(CANARY_REQUEST_TIMEOUT_MS) });
    text = await res.text();
  } catch (err) {
    throw new CanaryUnavailableError(`canary read ${url.origin}${url.pathname} failed: ${(err as Error).message}`, { cause: err });
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429) throw new CanaryUnavailableError(`canary read ${url.origin}${url.pathname} answered ${res.status}`);
  if (!res.ok) throw new CanaryRejectedError(`canary read ${url.origin}${url.pathname} answered ${res.status}: ${text.slice(0, 300)}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CanaryRejectedError(`canary read ${url.origin}${url.pathname} answered something other than JSON`);
  }
  const parsed = CanaryReading.partial({ instance: true }).safeParse(json);
  if (!parsed.success) throw new CanaryRejectedError(`canary read ${url.origin}${url.pathname} answered no canary reading: ${firstIssue(parsed.error)}`);
  const { newest, count, instance } = parsed.data;
  return { count, ...(newest ? { newest } : {}), ...(instance !== undefined ? { instance } : {}) };
}

/**
 * Asks `canary.read.url` for the newest record of the drill written at or
 * before `before`. A transient failure (no answer, 5xx) is tried
 * {@link CANARY_READ_ATTEMPTS} times, a short pause apart, before it fails
 * retryably; a refusal fails at once.
 */
export async function readCanaries(req: CanaryReadRequest, signal?: AbortSignal): Promise<CanaryReadResult> {
  const url = new URL(req.canary.read.url);
  url.searchParams.set('drill', req.drillId);
  url.searchParams.set('before', req.before);
  for (let attempt = 1; ; attempt++) {
    try {
      return await readOnce(url);
    } catch (err) {
      if (!(err instanceof CanaryUnavailableError) || attempt >= CANARY_READ_ATTEMPTS || signal?.aborted) throw err;
      await sleep(250 * 2 ** (attempt - 1), undefined, signal ? { signal } : {});
    }
  }
}
