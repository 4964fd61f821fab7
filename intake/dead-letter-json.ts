import { terminalText } from '../observability/terminal-text';
import type { DeadLetter } from './dead-letter-store';

/*
 * The one JSON form of a dead letter, shared by `runbook dead-letters --json`
 * and the API's /dead-letters routes, so the console and the CLI show the
 * same fields.
 */

/** Characters of the original bytes shown in a listing. */
const PREVIEW_CHARS = 80;

const decoder = new TextDecoder('utf-8');

/** A one-line, printable preview of the original bytes: control and bidi characters as escapes. */
export function preview(data: Uint8Array, max = PREVIEW_CHARS): string {
  const text = terminalText(decoder.decode(data));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The JSON form of a dead letter; `original` is the bytes kept as UTF-8 text (lossy only for invalid UTF-8); `size` is the whole original's. */
export function deadLetterJson(letter: DeadLetter, full: boolean): Record<string, unknown> {
  const { data, ...rest } = letter;
  return { ...rest, storedBytes: data.byteLength, ...(full ? { original: decoder.decode(data), originalBase64: Buffer.from(data).toString('base64') } : { preview: preview(data) }) };
}
