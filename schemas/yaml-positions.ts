import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/*
 * Maps a field path in data parsed from YAML back to where it is written, so
 * every file we validate (runbooks, the services file, the roster) can report
 * `file:line: field: message`. It needs only the `yaml` package, so both the
 * engine and config use it from here.
 */

/** A 1-based line and column in a YAML text. */
export interface YamlPosition {
  line: number;
  column: number;
}

/** Start of the key for a map member (so the line names the field), or of the item in a sequence. */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number | undefined {
  if (path.length === 0) return isNode(doc.contents) ? doc.contents.range?.[0] : undefined;
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(last));
    return pair && isNode(pair.key) ? pair.key.range?.[0] : undefined;
  }
  if (isSeq(parent) && typeof last === 'number') {
    const item = parent.items[last];
    return isNode(item) ? item.range?.[0] : undefined;
  }
  return undefined;
}

/**
 * Position of the deepest node on `fieldPath` that exists in the text: a
 * missing field is reported where its parent is written. 1:1 when nothing is.
 */
export function positionOf(doc: Document, lines: LineCounter, fieldPath: readonly PropertyKey[]): YamlPosition {
  for (let n = fieldPath.length; n >= 0; n--) {
    const offset = offsetOf(doc, fieldPath.slice(0, n));
    if (offset !== undefined) {
      const pos = lines.linePos(offset);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

/** Line of {@link positionOf}. */
export function lineOf(doc: Document, lines: LineCounter, fieldPath: readonly PropertyKey[]): number {
  return positionOf(doc, lines, fieldPath).line;
}

/** `steps[2].action.kind` style; empty for the whole document. */
export function formatFieldPath(fieldPath: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of fieldPath) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** As {@link formatFieldPath}, but `(top level)` for the whole document. */
export function fieldName(fieldPath: readonly PropertyKey[]): string {
  return formatFieldPath(fieldPath) || '(top level)';
}
