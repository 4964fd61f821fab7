import { randomUUID } from 'node:crypto';
import { headers as natsHeaders, type JetStreamClient, type JetStreamManager, type StoredMsg } from 'nats';
import { FAULT_SUBJECT_PREFIX } from '../schemas/fault-event';
import { HDR } from './dead-letter';
import { deadLetterBody } from './dead-letter-body';
import { DEAD_LETTER_STREAM } from './streams';
import { publishDurably } from '../platform/jetstream-publish';

/** One dead letter as stored: its stream sequence is its id. */
export interface DeadLetter {
  id: number;
  /** When the intake refused it. */
  time: string;
  reason: string;
  error: string;
  /** Subject the original was published on. */
  originalSubject: string;
  originalSeq?: number;
  originalMsgId?: string;
  /** The original bytes, untouched, or only their leading part when `truncated`. */
  data: Uint8Array;
  /** Size of the whole original in bytes (more than `data` holds when truncated). */
  size: number;
  /** Hex sha256 of the whole original. */
  sha256: string;
  /** True when the original was too big to keep whole; such a letter cannot be replayed. */
  truncated: boolean;
  truncatedReason?: string;
  /** Deliveries of the original before it was dead-lettered, when known. */
  deliveries?: number;
}

/** No dead letter with that id (never stored, or already replayed). */
export class DeadLetterNotFoundError extends Error {
  constructor(readonly id: number) {
    super(`no dead letter ${id} in ${DEAD_LETTER_STREAM} (already replayed, or never stored)`);
    this.name = 'DeadLetterNotFoundError';
  }
}

/** A dead letter that cannot be re-injected as a fault (it never was one on a fault subject). */
export class NotReplayableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotReplayableError';
  }
}

function isMissing(err: unknown): boolean {
  return (err as { api_error?: { code?: number } } | undefined)?.api_error?.code === 404;
}

function toDeadLetter(m: StoredMsg): DeadLetter {
  const h = m.header;
  const get = (name: string): string | undefined => (h.has(name) ? h.get(name) : undefined);
  const seq = get(HDR.originalSeq);
  const msgId = get(HDR.originalMsgId);
  const size = get(HDR.originalSize);
  const deliveries = get(HDR.deliveries);
  const truncatedReason = get(HDR.truncatedReason);
  const truncated = get(HDR.truncated) === 'true';
  // Letters stored before size and digest were recorded always hold the whole original.
  const sha256 = get(HDR.originalSha256) ?? deadLetterBody(m.data, m.data.byteLength).sha256;
  return {
    id: m.seq,
    time: get(HDR.receivedAt) ?? m.time.toISOString(),
    reason: get(HDR.reason) ?? m.subject.split('.').slice(1).join('.'),
    error: get(HDR.error) ?? '',
    originalSubject: get(HDR.originalSubject) ?? '',
    ...(seq !== undefined && /^\d+$/.test(seq) ? { originalSeq: Number(seq) } : {}),
    ...(msgId !== undefined ? { originalMsgId: msgId } : {}),
    data: m.data,
    size: size !== undefined && /^\d+$/.test(size) ? Number(size) : m.data.byteLength,
    sha256,
    truncated,
    ...(truncatedReason !== undefined ? { truncatedReason } : {}),
    ...(deliveries !== undefined && /^\d+$/.test(deliveries) ? { deliveries: Number(deliveries) } : {}),
  };
}

/** One dead letter by id. */
export async function getDeadLetter(jsm: JetStreamManager, id: number): Promise<DeadLetter> {
  try {
    return toDeadLetter(await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq: id }));
  } catch (err) {
    if (isMissing(err)) throw new DeadLetterNotFoundError(id);
    throw err;
  }
}

/** The newest `limit` dead letters, oldest first. */
export async function listDeadLetters(jsm: JetStreamManager, limit: number): Promise<DeadLetter[]> {
  let state;
  try {
    state = (await jsm.streams.info(DEAD_LETTER_STREAM)).state;
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
  const found: DeadLetter[] = [];
  if (state.messages === 0) return found;
  // Walk back from the newest; replayed letters leave gaps, so stop at the first sequence.
  for (let seq = state.last_seq; seq >= state.first_seq && found.length < limit; seq--) {
    try {
      found.push(toDeadLetter(await jsm.streams.getMessage(DEAD_LETTER_STREAM, { seq })));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return found.reverse();
}

/** Where a replayed dead letter went. */
export interface ReplayResult {
  id: number;
  subject: string;
  stream: string;
  seq: number;
}

/**
 * Re-publishes a dead letter's original bytes to its original subject, then
 * removes it from the dead-letter stream. A fresh message id keeps the fault
 * stream's duplicate window from swallowing it. If the intake still refuses
 * it, it comes back as a new dead letter. A truncated letter, or one whose
 * bytes no longer match their recorded digest, is refused: re-publishing a
 * part would inject an event nobody sent.
 */
export async function replayDeadLetter(js: JetStreamClient, jsm: JetStreamManager, id: number): Promise<ReplayResult> {
  const letter = await getDeadLetter(jsm, id);
  if (!letter.originalSubject.startsWith(`${FAULT_SUBJECT_PREFIX}.`)) {
    throw new NotReplayableError(`dead letter ${id} did not arrive on a fault subject (${letter.originalSubject || 'unknown'}); publish a corrected fault instead`);
  }
  if (letter.truncated) {
    throw new NotReplayableError(
      `dead letter ${id} is truncated: only the first ${letter.data.byteLength} of its ${letter.size} bytes were kept (sha256 ${letter.sha256}), so the original is gone; find it at its producer by that digest and publish it again`,
    );
  }
  if (deadLetterBody(letter.data, letter.data.byteLength).sha256 !== letter.sha256) {
    throw new NotReplayableError(`dead letter ${id} does not match its recorded sha256 ${letter.sha256}; not replaying altered bytes`);
  }
  const h = natsHeaders();
  h.set(HDR.replayedFrom, String(id));
  // One id per replay, kept across retries, so a retried replay is stored once.
  const ack = await publishDurably(js, letter.originalSubject, letter.data, { msgID: `replay-${id}-${randomUUID()}`, headers: h });
  await jsm.streams.deleteMessage(DEAD_LETTER_STREAM, id, false);
  return { id, subject: letter.originalSubject, stream: ack.stream, seq: ack.seq };
}
