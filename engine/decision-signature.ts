import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DecisionSignature } from '../schemas/decisions';

/*
 * Edge only (uses node:crypto; workflows never import it): the one signing
 * function the approval API, the verifying activity, the demo and the tests
 * share. A decision counts only when its signature verifies, so whoever lacks
 * the decision key cannot forge one through Temporal.
 */

/** What a signature vouches for: a decision to apply, or the record that one was refused. */
export type SignedPurpose = 'decision' | 'refusal';

/** The fields a signature covers. */
export interface SignedDecisionFields {
  purpose: SignedPurpose;
  incidentId: string;
  /** Absent when the sender did not name the request (the waiting one is meant). */
  requestId?: string | undefined;
  step: string;
  /** approve, reject, retry, skip or abort. */
  verdict: string;
  /** The identity the approval API authenticated. */
  by: string;
  channel: string;
  /** When the API signed (ISO 8601). */
  signedAt: string;
  reason: string;
  /** Why a refused decision was refused; only for purpose `refusal`. */
  note?: string | undefined;
}

/** Version tag of the encoding; a change of layout gets a new tag so old signatures cannot be read under new rules. */
const ENCODING = 'runbook-decision-v1';

/**
 * The canonical encoding signed: a JSON array in a fixed order, so no field
 * can bleed into its neighbour and an absent request id or note differs from
 * an empty one.
 */
export function canonicalDecision(f: SignedDecisionFields): string {
  return JSON.stringify([ENCODING, f.purpose, f.incidentId, f.requestId ?? null, f.step, f.verdict, f.by, f.channel, f.signedAt, f.reason, f.note ?? null]);
}

function mac(key: Buffer, f: SignedDecisionFields): Buffer {
  return createHmac('sha256', key).update(canonicalDecision(f), 'utf8').digest();
}

/** Signs the fields (HMAC-SHA256 with the decision key); `signedAt` defaults to now. */
export function signDecision(key: Buffer, f: Omit<SignedDecisionFields, 'signedAt'> & { signedAt?: string }): DecisionSignature {
  const signedAt = f.signedAt ?? new Date().toISOString();
  return { signedAt, mac: mac(key, { ...f, signedAt }).toString('base64url') };
}

/** True when `signature` is the decision key's signature over exactly these fields. */
export function verifyDecisionSignature(key: Buffer, f: Omit<SignedDecisionFields, 'signedAt'>, signature: DecisionSignature | undefined): boolean {
  if (!signature || typeof signature.mac !== 'string' || typeof signature.signedAt !== 'string') return false;
  const given = Buffer.from(signature.mac, 'base64url');
  const expected = mac(key, { ...f, signedAt: signature.signedAt });
  return given.length === expected.length && timingSafeEqual(given, expected);
}
