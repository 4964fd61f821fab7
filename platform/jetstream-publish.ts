import type { JetStreamClient, JetStreamPublishOptions, PubAck } from 'nats';

/**
 * How long a publish that must not be lost keeps trying before it is an error.
 * Well inside the streams' 2-minute duplicate window, so every retry of one
 * message is still deduplicated by its Nats-Msg-Id.
 * @default 30 s
 */
export const DEFAULT_PUBLISH_DEADLINE_MS = 30_000;
/** Timeout of one attempt; an unacknowledged attempt is retried with the same id. @default 5 s */
export const DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS = 5_000;
/** First pause between attempts, doubling up to {@link DEFAULT_PUBLISH_MAX_DELAY_MS}. @default 100 ms */
export const DEFAULT_PUBLISH_BASE_DELAY_MS = 100;
/** @default 2 s */
export const DEFAULT_PUBLISH_MAX_DELAY_MS = 2_000;

/**
 * nats.js error codes meaning "not acknowledged yet, may work on another try":
 * no ack in time, no stream leader answering (503: no responders, or JetStream
 * temporarily unavailable during an election), and a connection lost while
 * the client reconnects to another server.
 */
const RETRYABLE_CODES = new Set(['TIMEOUT', '503', 'DISCONNECT', 'CONNECTION_CLOSED', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT']);

/** True when a failed publish may be tried again with the same message id. */
export function isRetryablePublishError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

/** The publish was not acknowledged before the deadline, or failed for good; the message may not be stored. */
export class PublishNotAcknowledgedError extends Error {
  override name = 'PublishNotAcknowledgedError';
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How {@link publishWithRetry} paces and bounds its attempts. */
export interface RetryPolicy {
  /** Total time before giving up (an error, never silent). */
  deadlineMs?: number;
  attemptTimeoutMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * True once the connection is closed for good (not merely reconnecting):
   * retrying is pointless then. Without it, CONNECTION_CLOSED ends the retries.
   */
  closed?: () => boolean;
  /** Told before each retry, with the error of the attempt that failed. */
  onRetry?: (attempt: number, err: unknown) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Delay before retry `attempt` (1-based): doubling from the base, capped. */
export function retryDelay(attempt: number, baseMs = DEFAULT_PUBLISH_BASE_DELAY_MS, maxMs = DEFAULT_PUBLISH_MAX_DELAY_MS): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * Runs `attempt` until it resolves, retrying the errors of
 * {@link isRetryablePublishError} with backoff until the deadline. Each
 * attempt gets a timeout no longer than the time left. Any other error, a
 * closed connection, or the deadline ends it with a
 * PublishNotAcknowledgedError carrying the last error as its cause.
 */
export async function publishWithRetry<T>(what: string, attempt: (timeoutMs: number) => Promise<T>, policy: RetryPolicy = {}): Promise<T> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? ((ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms)));
  const deadlineMs = policy.deadlineMs ?? DEFAULT_PUBLISH_DEADLINE_MS;
  const attemptTimeoutMs = policy.attemptTimeoutMs ?? DEFAULT_PUBLISH_ATTEMPT_TIMEOUT_MS;
  const deadline = now() + deadlineMs;
  for (let n = 1; ; n++) {
    const left = deadline - now();
    try {
      return await attempt(Math.max(1, Math.min(attemptTimeoutMs, left)));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!isRetryablePublishError(err)) throw new PublishNotAcknowledgedError(`${what}: not stored: ${reason}`, n, { cause: err });
      // nats.js reports CONNECTION_CLOSED for a connection closed for good, and only a caller holding it can tell that from a reconnect.
      const closedForGood = policy.closed ? policy.closed() : (err as { code?: string }).code === 'CONNECTION_CLOSED';
      if (closedForGood) throw new PublishNotAcknowledgedError(`${what}: not stored: the connection is closed (${reason})`, n, { cause: err });
      const pause = retryDelay(n, policy.baseDelayMs, policy.maxDelayMs);
      if (now() + pause >= deadline) {
        throw new PublishNotAcknowledgedError(`${what}: not acknowledged within ${deadlineMs} ms after ${n} attempts: ${reason}`, n, { cause: err });
      }
      policy.onRetry?.(n, err);
      await sleep(pause);
    }
  }
}

/** What {@link publishDurably} needs beyond the subject and data. */
export interface DurablePublishOptions extends RetryPolicy {
  /** Stable id of the message (Nats-Msg-Id): the same for every retry, so the stream stores it once. */
  msgID: string;
  headers?: JetStreamPublishOptions['headers'];
}

/**
 * Publishes to JetStream until the stream acknowledges, retrying timeouts,
 * missing leaders and reconnects with the same Nats-Msg-Id (the stream's
 * duplicate window drops a repeat whose first try was stored but whose ack
 * was lost). Throws PublishNotAcknowledgedError at the bound.
 */
export function publishDurably(js: Pick<JetStreamClient, 'publish'>, subject: string, data: Uint8Array | string, opts: DurablePublishOptions): Promise<PubAck> {
  const { msgID, headers, ...policy } = opts;
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return publishWithRetry(`publish ${msgID} to ${subject}`, (timeout) => js.publish(subject, bytes, { msgID, timeout, ...(headers ? { headers } : {}) }), policy);
}
