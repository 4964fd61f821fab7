/*
 * `new URL()` resolves `.` and `..` segments (`/incidents/x/../y` becomes
 * `/incidents/y`, and so do `%2e%2e` and backslash spellings), so what the
 * routes and the authentication see is not the path the client sent. The
 * HTTP servers (the approval API, the intake's receiver, the metrics
 * endpoints) refuse such paths outright instead: no client needs them, and a
 * path that means something else after normalising must not reach a routing
 * or auth decision.
 */

/** Longest stretch of the refused path quoted back in the error. */
const QUOTED_PATH_CHARS = 200;

/** Percent-encodings that can spell a dot segment or a separator, and `%25`, which can hide them once more. */
const ENCODED = /%(2e|2f|5c|25)/gi;

const DECODED: Readonly<Record<string, string>> = { '2e': '.', '2f': '/', '5c': '\\', '25': '%' };

/** Decodes the dot, separator and percent encodings until nothing changes (so `%252e` counts as `.`). */
function decodeDotsAndSeparators(path: string): string {
  let current = path;
  for (;;) {
    const next = current.replace(ENCODED, (_, hex: string) => DECODED[hex.toLowerCase()] ?? '');
    if (next === current) return current;
    current = next;
  }
}

/**
 * Why a request target must be refused before routing, or `undefined` when
 * its path has no `.` or `..` segment in any spelling: plain, percent-encoded
 * (`%2e%2e`, `%2E.`, `%252e%252e`), or separated by `\`, `%2f` or `%5c`.
 * The query string is not looked at.
 *
 * @param target the request target as received (`req.url`), e.g. `/incidents/x/../y?open=true`.
 */
export function dotSegmentRefusal(target: string): string | undefined {
  const path = target.split(/[?#]/, 1)[0] ?? '';
  const segments = decodeDotsAndSeparators(path).split(/[/\\]/);
  if (!segments.some((segment) => segment === '.' || segment === '..')) return undefined;
  const quoted = path.length > QUOTED_PATH_CHARS ? `${path.slice(0, QUOTED_PATH_CHARS)}…` : path;
  return `path ${JSON.stringify(quoted)} has a "." or ".." segment; send the resolved path instead`;
}
