/**
 * How the intake paces and bounds redeliveries of a fault message. The
 * server counts deliveries and stops after the consumer's `max_deliver`; the
 * intake must act on the last one itself, or the message would sit unacked.
 */

/** nak delays the intake asks for between deliveries it could not settle. */
export interface NakBackoff {
  /** Delay after the first delivery, doubling after each further one. @default 1 s */
  baseMs: number;
  /** Longest delay. @default 15 s */
  maxMs: number;
}

/** @default see {@link NakBackoff} */
export const DEFAULT_NAK_BACKOFF: NakBackoff = { baseMs: 1_000, maxMs: 15_000 };

/** The nak delay after delivery number `deliveryCount` (1 for the first): min(max, base · 2^(n−1)). */
export function nakDelayMs(deliveryCount: number, backoff: NakBackoff): number {
  const n = Math.max(0, deliveryCount - 1);
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(n, 20));
}

/**
 * True when this delivery is the last the server will make, so a failure now
 * must be dead-lettered rather than nacked. `maxDeliver` is the consumer's
 * setting as the server reports it; zero or negative means unlimited.
 */
export function isFinalDelivery(deliveryCount: number, maxDeliver: number): boolean {
  return maxDeliver > 0 && deliveryCount >= maxDeliver;
}
