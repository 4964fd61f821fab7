import { headers as natsHeaders, type JetStreamClient, type JsMsg, type MsgHdrs } from 'nats';
import { DEAD_LETTER_SUBJECT, UNHANDLED_SUBJECT } from './streams';

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
} as const;

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
 * Stores a refused input, bytes intact, in the dead-letter stream under
 * `msgId` (so storing it twice keeps one copy); resolves once stored.
 */
export async function storeDeadLetter(js: JetStreamClient, input: RefusedInput, reason: string, error: string, msgId: string, now = new Date()): Promise<void> {
  await js.publish(`${DEAD_LETTER_SUBJECT}.${reason}`, input.data, { headers: recordHeaders(input, reason, error, now), msgID: msgId });
}

/**
 * Stores an invalid fault message in the dead-letter stream. The record's id
 * is derived from the fault stream sequence, so a redelivery is stored once.
 */
export async function publishDeadLetter(js: JetStreamClient, msg: JsMsg, reason: string, error: string, now = new Date()): Promise<void> {
  await storeDeadLetter(js, fromMsg(msg), reason, error, `dead-${msg.seq}`, now);
}

/** Stores a valid event that no runbook handles; resolves once stored. */
export async function publishUnhandled(js: JetStreamClient, msg: JsMsg, service: string, kind: string, eventId: string, now = new Date()): Promise<void> {
  const h = recordHeaders(fromMsg(msg), 'no_runbook', `no runbook matches kind ${kind} for service ${service}`, now);
  h.set(HDR.eventId, eventId);
  await js.publish(`${UNHANDLED_SUBJECT}.${service.replaceAll('.', '_')}.${kind}`, msg.data, { headers: h, msgID: `unhandled-${msg.seq}` });
}
