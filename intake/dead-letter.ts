import { headers as natsHeaders, type JetStreamClient, type JsMsg, type MsgHdrs } from 'nats';
import { deadLetterBody } from './dead-letter-body';
import { DEAD_LETTER_SUBJECT, UNHANDLED_SUBJECT } from './streams';
import { publishDurably } from '../platform/jetstream-publish';

/** Headers carried by a dead letter or an unhandled record, next to the original bytes. */
export const HDR = {
  reason: 'Runbook-Reason',
  error: 'Runbook-Error',
  originalSubject: 'Runbook-Original-Subject',
  originalSeq: 'Runbook-Original-Seq',
  originalMsgId: 'Runbook-Original-Msg-Id',
  receivedAt: 'Runbook-Received-At',
  eventId: 'Runbook-Event-Id',
  replayedFrom: 'Runbook-Replayed-From',
  originalSize: 'Runbook-Original-Size',
  originalSha256: 'Runbook-Original-Sha256',
  truncated: 'Runbook-Truncated',
  truncatedReason: 'Runbook-Truncated-Reason',
  deliveries: 'Runbook-Deliveries',
} as const;

/** Reason of a dead letter stored because its event used up every delivery. */
export const ATTEMPTS_EXHAUSTED = 'delivery_attempts_exhausted';

/**
 * The server's `max_payload` when the connection has not said otherwise.
 * @default 1 MiB, the nats-server default
 */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Bytes kept free under `max_payload` besides the headers we count, for
 * anything the client or server adds on the way.
 * @default 1 KiB
 */
export const PAYLOAD_SAFETY_MARGIN = 1024;

/** Longest error kept in a header; the rest is cut, never the record refused. */
export const MAX_ERROR_HEADER_CHARS = 4_096;

/** Header values are single lines; long ones are cut rather than rejected. */
export function headerValue(value: string, max = MAX_ERROR_HEADER_CHARS): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Where a refused input came from, for its dead-letter record. */
export interface RefusedInput {
  data: Uint8Array;
  /** Subject it was published on, or `http:<path>` for a body posted to the intake. */
  originalSubject: string;
  originalSeq?: number;
  originalMsgId?: string | undefined;
}

/** Options of {@link storeDeadLetter}. */
export interface StoreOptions {
  /** The server's `max_payload` (from its INFO); a bigger record is stored truncated. @default {@link DEFAULT_MAX_PAYLOAD} */
  maxPayload?: number;
  /** Deliveries the original had when it was given up on. */
  deliveries?: number;
  now?: Date;
}

/** Encoded size of a header block as NATS sends it: the version line, one `name: value` line per value, a blank line. */
export function headerBytes(h: MsgHdrs): number {
  const enc = new TextEncoder();
  let n = 'NATS/1.0\r\n\r\n'.length;
  for (const name of h.keys()) for (const value of h.values(name)) n += enc.encode(`${name}: ${value}\r\n`).byteLength;
  return n;
}

function recordHeaders(input: RefusedInput, reason: string, error: string, now: Date): MsgHdrs {
  const h = natsHeaders();
  h.set(HDR.reason, reason);
  h.set(HDR.error, headerValue(error));
  h.set(HDR.originalSubject, input.originalSubject);
  if (input.originalSeq !== undefined) h.set(HDR.originalSeq, String(input.originalSeq));
  h.set(HDR.receivedAt, now.toISOString());
  if (input.originalMsgId) h.set(HDR.originalMsgId, headerValue(input.originalMsgId, 256));
  return h;
}

function fromMsg(msg: JsMsg): RefusedInput {
  return { data: msg.data, originalSubject: msg.subject, originalSeq: msg.seq, originalMsgId: msg.headers?.get('Nats-Msg-Id') };
}

/**
 * Stores a refused input in the dead-letter stream under `msgId` (so storing
 * it twice keeps one copy); resolves once stored. The bytes are kept intact
 * when the record fits the server's `max_payload`; otherwise only their
 * leading part is, marked truncated, so a dead letter can always be stored.
 * Size and sha256 of the whole original are recorded either way.
 */
export async function storeDeadLetter(js: JetStreamClient, input: RefusedInput, reason: string, error: string, msgId: string, options: StoreOptions = {}): Promise<void> {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const h = recordHeaders(input, reason, error, options.now ?? new Date());
  if (options.deliveries !== undefined) h.set(HDR.deliveries, String(options.deliveries));
  const size = input.data.byteLength;
  h.set(HDR.originalSize, String(size));
  // Sized with every header the record may carry (digest, truncation, message id), so the budget holds either way.
  const sizing = natsHeaders();
  for (const name of h.keys()) for (const value of h.values(name)) sizing.append(name, value);
  sizing.set(HDR.originalSha256, '0'.repeat(64));
  sizing.set(HDR.truncated, 'true');
  sizing.set(HDR.truncatedReason, truncationReason(size, maxPayload));
  sizing.set('Nats-Msg-Id', msgId);
  const body = deadLetterBody(input.data, maxPayload - headerBytes(sizing) - PAYLOAD_SAFETY_MARGIN);
  h.set(HDR.originalSha256, body.sha256);
  if (body.truncated) {
    h.set(HDR.truncated, 'true');
    h.set(HDR.truncatedReason, truncationReason(size, maxPayload));
  }
  await publishDurably(js, `${DEAD_LETTER_SUBJECT}.${reason}`, body.data, { headers: h, msgID: msgId });
}

function truncationReason(size: number, maxPayload: number): string {
  return `original of ${size} bytes plus headers exceeds the server's max_payload of ${maxPayload} bytes; only its leading bytes are kept`;
}

/**
 * Stores a fault message in the dead-letter stream. The record's id is
 * derived from the fault stream sequence, so a redelivery is stored once.
 */
export async function publishDeadLetter(js: JetStreamClient, msg: JsMsg, reason: string, error: string, options: Omit<StoreOptions, 'deliveries'> = {}): Promise<void> {
  await storeDeadLetter(js, fromMsg(msg), reason, error, `dead-${msg.seq}`, { ...options, deliveries: msg.info.redeliveryCount });
}

/** Stores a valid event that no runbook handles (small by then: it passed validation); resolves once stored. */
export async function publishUnhandled(js: JetStreamClient, msg: JsMsg, service: string, kind: string, eventId: string, now = new Date()): Promise<void> {
  const h = recordHeaders(fromMsg(msg), 'no_runbook', `no runbook matches kind ${kind} for service ${service}`, now);
  h.set(HDR.eventId, eventId);
  await publishDurably(js, `${UNHANDLED_SUBJECT}.${service.replaceAll('.', '_')}.${kind}`, msg.data, { headers: h, msgID: `unhandled-${msg.seq}` });
}
