import { createHash } from 'node:crypto';

/** What a dead letter carries of its original: the bytes kept and the facts of the whole. */
export interface DeadLetterBody {
  /** The original bytes, or as many leading ones as fit the budget. */
  data: Uint8Array;
  /** Size of the whole original, in bytes. */
  size: number;
  /** Hex sha256 over the whole original, so a truncated copy can still be matched to its source. */
  sha256: string;
  /** True when `data` is only a prefix of the original. */
  truncated: boolean;
}

/**
 * The body a dead letter can carry within `budget` bytes: the original when
 * it fits, else its longest prefix that does. Size and digest always describe
 * the full original.
 */
export function deadLetterBody(original: Uint8Array, budget: number): DeadLetterBody {
  const sha256 = createHash('sha256').update(original).digest('hex');
  const keep = Math.max(0, Math.floor(budget));
  if (original.byteLength <= keep) return { data: original, size: original.byteLength, sha256, truncated: false };
  return { data: original.subarray(0, keep), size: original.byteLength, sha256, truncated: true };
}
