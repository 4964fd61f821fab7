import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, nanos, type ConsumerConfig, type JetStreamManager, type StreamConfig } from 'nats';
import type { Logger } from '../observability/logger';
import { FAULT_SUBJECT_PREFIX } from '../schemas/fault-event';

/** Stream of fault events as monitors publish them. */
export const FAULTS_STREAM = 'FAULTS';
/** Invalid events with their original bytes and the reason. */
export const DEAD_LETTER_STREAM = 'FAULTS_DEAD';
/** Valid events that no runbook handles. */
export const UNHANDLED_STREAM = 'FAULTS_UNHANDLED';
/** Durable consumer shared by every intake process. */
export const INTAKE_CONSUMER = 'intake';

/** Subject prefix of dead letters: `faults_dead.<reason>`. */
export const DEAD_LETTER_SUBJECT = 'faults_dead';
/** Subject prefix of unhandled events: `faults_unhandled.<service>.<kind>`. */
export const UNHANDLED_SUBJECT = 'faults_unhandled';

/**
 * Window in which JetStream drops a repeat of the same Nats-Msg-Id.
 * @default 2 minutes
 */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/**
 * Messages in flight per consumer before the server holds back. Room for
 * many targets' batches at once: in an alert storm each hand-off carries up
 * to 100 events of one target, and with 1,000 an intake held about ten
 * targets' worth and spent its time waiting on Temporal between them.
 * @default 10,000
 */
export const DEFAULT_MAX_ACK_PENDING = 10_000;
/**
 * Redelivery delays for a message that was neither acked nor nacked (its
 * intake crashed or hung). The server uses the first one as the ack wait, so
 * a live intake keeps its in-flight messages alive with progress
 * acknowledgements (see `InFlight`), and a crashed one loses them after 10 s.
 */
export const DEFAULT_REDELIVERY_BACKOFF_MS = [10_000, 30_000, 60_000, 120_000];
/**
 * Deliveries of one fault message before the intake gives up on it and
 * dead-letters it as `delivery_attempts_exhausted`. The server requires more
 * deliveries than backoff steps (4). The intake naks a message it could not
 * hand on with a delay capped at 15 s, so 250 deliveries keep an event for at
 * least an hour of Temporal outage at the fastest pace (≈ 15 s each) and much
 * longer when hand-offs time out; a message that crashes every intake holding
 * it is redelivered on the 120 s backoff step, so it stops within about 8 hours.
 * @default 250
 */
export const DEFAULT_MAX_DELIVER = 250;
/** The ack wait, equal to the first backoff step because the server enforces that. */
export const DEFAULT_ACK_WAIT_MS = DEFAULT_REDELIVERY_BACKOFF_MS[0] ?? 10_000;
/** Largest message the fault stream stores; bigger than any valid event so oversized ones still reach the dead-letter stream. */
export const FAULTS_MAX_MSG_BYTES = 1024 * 1024;

const DAY_MS = 86_400_000;

/** Stream configurations the intake owns; `replicas` is 3 on a three-node cluster. */
export function streamConfigs(replicas = 1): Partial<StreamConfig>[] {
  const base = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
  };
  return [
    { ...base, name: FAULTS_STREAM, subjects: [`${FAULT_SUBJECT_PREFIX}.>`], max_age: nanos(7 * DAY_MS), max_msg_size: FAULTS_MAX_MSG_BYTES },
    { ...base, name: DEAD_LETTER_STREAM, subjects: [`${DEAD_LETTER_SUBJECT}.>`], max_age: nanos(30 * DAY_MS) },
    { ...base, name: UNHANDLED_STREAM, subjects: [`${UNHANDLED_SUBJECT}.>`], max_age: nanos(30 * DAY_MS) },
  ];
}

/** The intake's durable pull consumer; `maxDeliver` bounds deliveries of one message. */
export function intakeConsumerConfig(maxDeliver = DEFAULT_MAX_DELIVER): Partial<ConsumerConfig> {
  return {
    durable_name: INTAKE_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: DEFAULT_MAX_ACK_PENDING,
    ack_wait: nanos(DEFAULT_ACK_WAIT_MS),
    backoff: DEFAULT_REDELIVERY_BACKOFF_MS.map((ms) => nanos(ms)),
    max_deliver: maxDeliver,
  };
}

function isUnlimited(value: unknown): boolean {
  return UNLIMITED.has(value);
}

/** The `max_ack_pending` earlier intakes created their consumer with. */
export const EARLIER_MAX_ACK_PENDING = 1_000;

/**
 * The settings to change on an existing consumer, or undefined. Only what
 * earlier intakes created is moved: an unlimited `max_deliver` is raised to a
 * bound (left unlimited, a message that can never be handed on is redelivered
 * forever), and their `max_ack_pending` of 1,000 to the current default (it
 * holds an alert storm to one wave of targets at a time). Any other value an
 * operator chose is kept and reported as drift.
 */
export function consumerUpgrade(want: Partial<ConsumerConfig>, have: Partial<ConsumerConfig>): Partial<ConsumerConfig> | undefined {
  const upgrade: Partial<ConsumerConfig> = {};
  if (!isUnlimited(want.max_deliver) && isUnlimited(have.max_deliver)) upgrade.max_deliver = want.max_deliver as number;
  if (want.max_ack_pending !== undefined && want.max_ack_pending > EARLIER_MAX_ACK_PENDING && have.max_ack_pending === EARLIER_MAX_ACK_PENDING) upgrade.max_ack_pending = want.max_ack_pending;
  return Object.keys(upgrade).length > 0 ? upgrade : undefined;
}

/** Values the server reports for a setting left at "no limit" or unset; all mean the same. */
const UNLIMITED = new Set<unknown>([undefined, null, 0, -1]);
const UNLIMITED_FIELDS = new Set(['max_msgs', 'max_bytes', 'max_age', 'max_msg_size', 'max_msgs_per_subject', 'max_consumers', 'max_deliver', 'max_ack_pending']);

/**
 * The value of `key` in the form the server returns it: subject lists are
 * compared as sets, "no limit" spellings as one, and a consumer's ack wait
 * as the first backoff step, which the server substitutes when backoff is set.
 */
function normalised(key: string, value: unknown, config: Record<string, unknown>): unknown {
  if (UNLIMITED_FIELDS.has(key) && UNLIMITED.has(value)) return 'unlimited';
  if (key === 'subjects' && Array.isArray(value)) return [...(value as string[])].sort();
  if (key === 'ack_wait' && Array.isArray(config['backoff']) && config['backoff'].length > 0) return config['backoff'][0];
  if (key === 'num_replicas' && (value === 0 || value === undefined)) return 1;
  return value ?? null;
}

/**
 * Settings we asked for that an existing configuration does not have, one
 * line each. Only keys present in `want` are compared, after normalising both
 * sides, so defaults the server fills in are never reported.
 */
export function configDrift(want: Record<string, unknown>, have: Record<string, unknown>): string[] {
  const drift: string[] = [];
  for (const [key, value] of Object.entries(want)) {
    const w = normalised(key, value, want);
    const h = normalised(key, have[key], have);
    if (JSON.stringify(h) !== JSON.stringify(w)) drift.push(`${key}: have ${JSON.stringify(have[key])}, want ${JSON.stringify(value)}`);
  }
  return drift;
}

/** JetStream API error codes meaning "does not exist". */
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/** True when `err` is the JetStream API's answer that the stream or consumer does not exist. */
export function isNotFound(err: unknown): boolean {
  const api = (err as { api_error?: { code?: number; err_code?: number } } | undefined)?.api_error;
  if (!api) return false;
  return api.err_code === STREAM_NOT_FOUND || api.err_code === CONSUMER_NOT_FOUND || (api.err_code === undefined && api.code === 404);
}

/** JetStream's "temporarily unavailable" (no leader at the moment). */
const JETSTREAM_NOT_READY = 10008;

/**
 * True for an answer that a cluster gives while a stream's or consumer's raft
 * group elects a leader (a node lost, a replica count changed): the request
 * timed out, or JetStream said it is temporarily unavailable.
 */
export function isElecting(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { code?: number; err_code?: number }; cause?: unknown } | undefined;
  if (e?.code === 'TIMEOUT' || e?.code === '503' || e?.api_error?.err_code === JETSTREAM_NOT_READY || e?.api_error?.code === 503) return true;
  // Our setup errors carry the server's answer as their cause.
  return e?.cause !== undefined && e.cause !== err && isElecting(e.cause);
}

/** How long a JetStream check waits out a leader election before it fails. */
export const ELECTION_BOUND_MS = 30_000;

/** Runs `call` again while the cluster is electing a leader for it, up to `boundMs`; any other error is thrown at once. */
export async function outlastElection<T>(call: () => Promise<T>, boundMs = ELECTION_BOUND_MS): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!isElecting(err) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A JetStream resource could not be checked or created (not merely missing). */
export class JetStreamSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JetStreamSetupError';
  }
}

/**
 * Creates the streams and the consumer when missing, with `replicas`
 * replicas (1 when not given; the intake leaves the count to provisioning and
 * does not compare it). An existing one whose
 * configuration drifted is reported (logged and returned), not silently kept
 * and not silently rewritten: an operator may have tuned it on purpose. The
 * one exception is an unlimited `max_deliver` on the consumer, which is
 * bounded (see {@link consumerUpgrade}).
 * Any error other than "not found" is rethrown, so an unreachable server is
 * never mistaken for an empty one.
 */
export async function ensureJetStream(jsm: JetStreamManager, logger: Logger, options: { maxDeliver?: number; replicas?: number } = {}): Promise<string[]> {
  const drifts: string[] = [];
  for (const cfg of streamConfigs(options.replicas)) {
    const name = cfg.name ?? '';
    const info = await outlastElection(() => jsm.streams.info(name)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw new JetStreamSetupError(`cannot check stream ${name}: ${(err as Error).message}`, { cause: err });
    });
    if (info) {
      // Without a replica count of its own (the intake), the one provisioning chose is not drift.
      const { num_replicas: _replicas, ...rest } = cfg;
      const want = options.replicas === undefined ? rest : cfg;
      const d = configDrift(want as Record<string, unknown>, info.config as unknown as Record<string, unknown>);
      if (d.length) {
        drifts.push(...d.map((x) => `stream ${name} ${x}`));
        logger.warn('stream configuration drifted', { stream: name, drift: d });
      }
    } else {
      await jsm.streams.add(cfg);
      logger.info('created stream', { stream: name });
    }
  }
  const want = intakeConsumerConfig(options.maxDeliver);
  let info = await outlastElection(() => jsm.consumers.info(FAULTS_STREAM, INTAKE_CONSUMER)).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw new JetStreamSetupError(`cannot check consumer ${INTAKE_CONSUMER}: ${(err as Error).message}`, { cause: err });
  });
  const upgrade = info && consumerUpgrade(want, info.config);
  if (info && upgrade) {
    info = await jsm.consumers.update(FAULTS_STREAM, INTAKE_CONSUMER, upgrade);
    logger.warn('consumer updated from an earlier version\'s settings', { consumer: INTAKE_CONSUMER, changed: upgrade, maxDeliver: info.config.max_deliver, maxAckPending: info.config.max_ack_pending });
  }
  if (info) {
    const d = configDrift(want as Record<string, unknown>, info.config as unknown as Record<string, unknown>);
    if (d.length) {
      drifts.push(...d.map((x) => `consumer ${INTAKE_CONSUMER} ${x}`));
      logger.warn('consumer configuration drifted', { consumer: INTAKE_CONSUMER, drift: d });
    }
  } else {
    await jsm.consumers.add(FAULTS_STREAM, want);
    logger.info('created consumer', { consumer: INTAKE_CONSUMER });
  }
  return drifts;
}

/**
 * The consumer's `max_deliver` as the server has it (−1 for unlimited): the
 * bound the intake must act on, whatever it asked for.
 */
export async function consumerMaxDeliver(jsm: JetStreamManager): Promise<number> {
  const info = await outlastElection(() => jsm.consumers.info(FAULTS_STREAM, INTAKE_CONSUMER));
  const value = info.config.max_deliver;
  return typeof value === 'number' && value > 0 ? value : -1;
}
