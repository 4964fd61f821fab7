import { terminalText } from '../observability/terminal-text';

/** Options of {@link formatTable}. */
export interface TableOptions {
  /** Widest each column may be (by position); longer values are cut with an ellipsis. Unset means no limit. */
  maxWidths?: readonly number[];
}

function fit(value: string, width: number): string {
  return value.length > width ? `${value.slice(0, width - 1)}…` : value.padEnd(width);
}

/**
 * Aligns rows under a header in columns two spaces apart, one line each
 * (newline-terminated). The last column is neither padded nor cut, so long
 * free text stays whole. Cells often hold event data, so each is shown
 * through {@link terminalText}: control characters as escapes, on one line.
 */
export function formatTable(header: readonly string[], cells: readonly (readonly string[])[], opts: TableOptions = {}): string {
  const rows = cells.map((row) => row.map((cell) => terminalText(cell)));
  const widths = header.map((h, c) => Math.min(opts.maxWidths?.[c] ?? Infinity, Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length))));
  const last = header.length - 1;
  return [header, ...rows].map((row) => `${header.map((_, c) => (c === last ? (row[c] ?? '') : fit(row[c] ?? '', widths[c] ?? 0))).join('  ').trimEnd()}\n`).join('');
}
