import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/** Line of the deepest node on `fieldPath` that exists in the document (1 when none does). */
export function lineOf(doc: Document, lines: LineCounter, fieldPath: readonly PropertyKey[]): number {
  for (let n = fieldPath.length; n > 0; n--) {
    const parent: unknown = n === 1 ? doc.contents : doc.getIn(fieldPath.slice(0, n - 1), true);
    const last = fieldPath[n - 1];
    let offset: number | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(last));
      if (pair && isNode(pair.key)) offset = pair.key.range?.[0];
    } else if (isSeq(parent) && typeof last === 'number') {
      const item = parent.items[last];
      if (isNode(item)) offset = item.range?.[0];
    }
    if (offset !== undefined) return lines.linePos(offset).line;
  }
  return 1;
}

/** `a.b[2].c`, or `(top level)` for the empty path. */
export function fieldName(fieldPath: readonly PropertyKey[]): string {
  return fieldPath.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('') || '(top level)';
}
