/*
 * Text from events and producers (dead-letter bytes, labels, error messages,
 * decision notes) is printed to an operator's terminal. Raw control
 * characters there can retitle the window, clear the screen, move the cursor
 * or rewrite earlier lines, and bidi overrides or zero-width characters make
 * what is shown differ from what is stored. Everything the CLI prints from
 * data goes through these functions, which show such characters as escapes.
 */

/**
 * C0 controls, DEL, C1 controls (U+009B is a one-byte CSI), the Arabic letter
 * mark, zero-width and directional marks, line and paragraph separators, the
 * embedding and override controls, the word joiner, isolates and the BOM.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/gu;

/** Of those, the JSON text escaper must handle what `JSON.stringify` leaves raw (it escapes only C0). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t' };

function escapeOne(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Options of {@link terminalText}. */
export interface TerminalTextOptions {
  /**
   * Keep `\n` and `\t` as they are, for text the CLI deliberately prints over
   * several lines (a dead letter's original body). Otherwise they are shown
   * as `\n` and `\t`, so one value stays on one line.
   * @default false
   */
  multiline?: boolean;
}

/**
 * `text` with every character that could steer or mislead a terminal shown
 * as a visible escape: `\x1b`, `\x07`, `\u202e`. Printable text, non-ASCII
 * letters included, is unchanged. Backslashes are not doubled, so the result
 * is for reading, not for parsing back.
 */
export function terminalText(text: string, opts: TerminalTextOptions = {}): string {
  return text.replace(UNSAFE, (char) => {
    if (opts.multiline && (char === '\n' || char === '\t')) return char;
    return NAMED[char] ?? escapeOne(char);
  });
}

/**
 * A copy of `value` with every string in it (object keys too) passed through
 * {@link terminalText} on one line, for renderers that interpolate data
 * fields into their own multi-line layout.
 */
export function terminalStrings<T>(value: T): T {
  return escapeStrings(value) as T;
}

function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return terminalText(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      Object.defineProperty(out, terminalText(key), { value: escapeStrings(inner), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

/**
 * `JSON.stringify(value, null, space)` with DEL, C1 controls, bidi and
 * zero-width characters written as `\uXXXX` escapes, which `JSON.stringify`
 * leaves raw. The text parses back to the same value.
 */
export function terminalJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(UNSAFE_IN_JSON, (char) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}
