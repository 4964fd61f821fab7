/*
 * Pure: keeps step outputs small enough to live in workflow state, history
 * and the incident's result. A command can print megabytes; the incident only
 * needs enough to read what happened, and the full text stays in the logs.
 */

/** Largest step output kept in the incident state, in bytes of JSON. */
export const MAX_STEP_OUTPUT_BYTES = 8_192;

/** What replaces an output that was too large. */
export interface TruncationMarker {
  truncated: true;
  /** Size of the original output, in bytes of JSON. */
  originalBytes: number;
}

/** UTF-8 length of a string, without TextEncoder (workflow code must not rely on it). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i += 1;
    } else n += 3;
  }
  return n;
}

/** The longest prefix of `s` whose UTF-8 length is at most `bytes`, never splitting a surrogate pair. */
function cut(s: string, bytes: number): string {
  let n = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (n + size > bytes) break;
    n += size;
    i += pair ? 2 : 1;
  }
  return s.slice(0, i);
}

/**
 * `output` unchanged when its JSON fits in `maxBytes`; otherwise a copy whose
 * numbers, booleans and short strings are kept (so `steps.<id>.output.exitCode`
 * still works), whose long strings are cut to share the room, and whose nested
 * values are kept only as cut JSON text; marked `truncated: true` with the
 * original size. The result's JSON is at most `maxBytes` plus the marker.
 */
export function truncateOutput(output: Record<string, unknown>, maxBytes = MAX_STEP_OUTPUT_BYTES): Record<string, unknown> {
  const originalBytes = utf8Bytes(JSON.stringify(output) ?? '');
  if (originalBytes <= maxBytes) return output;
  const kept: Record<string, unknown> = {};
  const long: [string, string][] = [];
  let used = 0;
  for (const [key, value] of Object.entries(output)) {
    if (value === null || typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && utf8Bytes(value) <= 256)) {
      kept[key] = value;
      used += utf8Bytes(JSON.stringify({ [key]: value }));
    } else if (value !== undefined) {
      long.push([key, typeof value === 'string' ? value : (JSON.stringify(value) ?? '')]);
    }
  }
  if (used > maxBytes) {
    // Too many fields to keep each: one cut preview of the whole output instead.
    const marker: TruncationMarker = { truncated: true, originalBytes };
    return { preview: cut(JSON.stringify(output), Math.floor(maxBytes / 2)), ...marker };
  }
  // JSON escaping can grow text (quotes, control characters), so each share is cut in halves until it fits.
  let share = long.length > 0 ? Math.max(0, Math.floor((maxBytes - used) / long.length) - 16) : 0;
  for (;;) {
    const cutValues = Object.fromEntries(long.map(([k, v]) => [k, cut(v, share)]));
    const candidate = { ...kept, ...cutValues };
    if (share === 0 || utf8Bytes(JSON.stringify(candidate)) <= maxBytes) {
      const marker: TruncationMarker = { truncated: true, originalBytes };
      return { ...candidate, ...marker };
    }
    share = Math.floor(share / 2);
  }
}
