import { ApplicationFailure } from '@temporalio/common';
import type { KV } from 'nats';
import { AMBIGUOUS_OUTCOME, EFFECT_LEDGER_UNAVAILABLE } from '../engine/effects';
import type { ActionResult } from './types';

/** JetStream KV bucket holding one record per non-idempotent effect. */
export const EFFECTS_BUCKET = 'runbook_effects';

/**
 * How long an effect's record is kept. It must outlive every incident that
 * may still retry the step, escalations waiting for people included.
 * @default 30 days
 */
export const DEFAULT_EFFECT_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * What the ledger knows of one effect. `started` is written (and acknowledged)
 * before the effect runs; `finished` or `failed` after it ended. A `started`
 * record nobody finished means the outcome is unknown.
 */
export interface EffectRecord {
  state: 'started' | 'finished' | 'failed';
  /** The workflow's attempt that wrote the record. */
  attempt: number;
  at: string;
  /** The action's summary line, or the error of a failed attempt. */
  summary?: string;
  /** What a finished attempt returned, given back to later attempts instead of running again. */
  result?: ActionResult;
}

/** A record and the revision a conditional write must name to replace it. */
export interface LedgerEntry {
  record: EffectRecord;
  revision: number;
}

/** The durable ledger as the action runner uses it. */
export interface EffectLedger {
  read(key: string): Promise<LedgerEntry | undefined>;
  /** Writes `record` only if the key is still at `revision` (absent when there was none); throws on a conflict. */
  claim(key: string, record: EffectRecord, revision: number | undefined): Promise<void>;
  write(key: string, record: EffectRecord): Promise<void>;
}

/** Opens (creating if needed, with `replicas` copies) the effects bucket; safe to call at every worker start. */
export function openEffectsBucket(js: { views: { kv(name: string, opts?: { history?: number; ttl?: number; replicas?: number }): Promise<KV> } }, replicas?: number): Promise<KV> {
  return js.views.kv(EFFECTS_BUCKET, { history: 1, ttl: DEFAULT_EFFECT_RETENTION_MS, ...(replicas ? { replicas } : {}) });
}

/** A ledger over the KV bucket `kv()` resolves to (fetched lazily, so a worker may start before NATS). */
export function kvEffectLedger(kv: () => Promise<KV>): EffectLedger {
  return {
    async read(key) {
      const entry = await (await kv()).get(key);
      if (!entry || entry.operation !== 'PUT' || entry.length === 0) return undefined;
      return { record: entry.json<EffectRecord>(), revision: entry.revision };
    },
    async claim(key, record, revision) {
      const bucket = await kv();
      const data = JSON.stringify(record);
      if (revision === undefined) await bucket.create(key, data);
      else await bucket.update(key, data, revision);
    },
    async write(key, record) {
      await (await kv()).put(key, JSON.stringify(record));
    },
  };
}

/**
 * The KV key for an idempotency key: characters KV keys may not hold (and
 * `=` itself) become `=XX`, so distinct idempotency keys stay distinct.
 */
export function ledgerKey(idempotencyKey: string): string {
  return idempotencyKey.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** How one attempt of a non-idempotent action meets the ledger. */
export interface OnceOptions {
  key: string;
  attempt: number;
  /** Run even though an earlier attempt's start is recorded without its end (`on_ambiguous: rerun`, or a human said retry). */
  rerunAmbiguous: boolean;
  now?: () => string;
  /** Told when the finish could not be recorded; the result is still returned. */
  onUnrecordedFinish?: (err: unknown) => void;
}

function unavailable(what: string, err: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message: `effect ledger: cannot ${what}: ${err instanceof Error ? err.message : String(err)}; the action was not run`,
    type: EFFECT_LEDGER_UNAVAILABLE,
    nonRetryable: false,
  });
}

function ambiguous(key: string, record: EffectRecord | undefined): ApplicationFailure {
  const when = record ? `attempt ${record.attempt} started it at ${record.at}` : 'another attempt started it at the same time';
  return ApplicationFailure.create({
    message: `outcome unknown: ${when} and never reported its end; not running it blind`,
    type: AMBIGUOUS_OUTCOME,
    nonRetryable: true,
    details: [{ key, attempt: record?.attempt ?? null, startedAt: record?.at ?? null }],
  });
}

/**
 * Runs `effect` at most once per key: records its start before and its end
 * after. A finished record gives back its result without running again; a
 * start without an end throws a non-retryable `AmbiguousOutcome` (unless
 * `rerunAmbiguous`); a ledger that cannot be read or written fails the attempt
 * as retryable, before anything ran.
 */
export async function runOnce(ledger: EffectLedger | undefined, opts: OnceOptions, effect: () => Promise<ActionResult>): Promise<ActionResult> {
  if (!ledger) throw unavailable('reach the ledger', new Error('this worker has no effects bucket (is NATS configured?)'));
  const now = opts.now ?? ((): string => new Date().toISOString());
  let entry: LedgerEntry | undefined;
  try {
    entry = await ledger.read(opts.key);
  } catch (err) {
    throw unavailable('read the ledger', err);
  }
  if (entry?.record.state === 'finished' && entry.record.result) return { ...entry.record.result, replayed: true };
  if (entry?.record.state === 'started' && !opts.rerunAmbiguous) throw ambiguous(opts.key, entry.record);
  try {
    await ledger.claim(opts.key, { state: 'started', attempt: opts.attempt, at: now() }, entry?.revision);
  } catch (err) {
    // Someone wrote the key between our read and our claim: another attempt is running it.
    if (isWrongRevision(err)) throw ambiguous(opts.key, undefined);
    throw unavailable('record the start', err);
  }
  let result: ActionResult;
  try {
    result = await effect();
  } catch (err) {
    // A known failure: the step's retry policy may run it again. If this write is lost, the next attempt sees an ambiguous start.
    await ledger
      .write(opts.key, { state: 'failed', attempt: opts.attempt, at: now(), summary: err instanceof Error ? err.message.slice(0, 300) : String(err) })
      .catch((writeErr: unknown) => opts.onUnrecordedFinish?.(writeErr));
    throw err;
  }
  try {
    await ledger.write(opts.key, { state: 'finished', attempt: opts.attempt, at: now(), summary: result.summary, result });
  } catch (err) {
    // The workflow still learns the result from this reply; only if that is lost too does the next attempt find it ambiguous.
    opts.onUnrecordedFinish?.(err);
  }
  return result;
}

function isWrongRevision(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /wrong last sequence|key exists|10071/i.test(text);
}
