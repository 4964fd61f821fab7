import type { Match } from '../schemas/runbook';

/*
 * Pure: chooses a runbook for a fault. Kept free of Node builtins so it can run
 * anywhere, including workflow code.
 */

/** The fields of a fault that routing looks at. */
export interface RoutableFault {
  service: string;
  target: string;
  kind: string;
  severity: string;
  labels?: Readonly<Record<string, string>> | undefined;
  /** Name of a runbook the fault source asks for. */
  runbook?: string | undefined;
}

/** The fields of a runbook that routing looks at. */
export interface RoutableRunbook {
  name: string;
  match: Pick<Match, 'kinds' | 'services' | 'labels' | 'priority'>;
}

/** Matches `value` against a pattern where `*` stands for any run of characters. */
export function globMatch(pattern: string, value: string): boolean {
  const pieces = pattern.split('*');
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return value === pattern;
  const last = pieces[pieces.length - 1] ?? '';
  if (!value.startsWith(first) || value.length < first.length + last.length) return false;
  let pos = first.length;
  for (const piece of pieces.slice(1, -1)) {
    const at = value.indexOf(piece, pos);
    if (at === -1) return false;
    pos = at + piece.length;
  }
  return value.length - last.length >= pos && value.endsWith(last);
}

/** Whether a runbook's `match` block accepts the fault: kind, then services, then every label. */
export function matchesFault(runbook: RoutableRunbook, fault: RoutableFault): boolean {
  const { kinds, services, labels } = runbook.match;
  if (!kinds.includes(fault.kind)) return false;
  if (services && !services.some((p) => globMatch(p, fault.service))) return false;
  if (labels) {
    const have = fault.labels ?? {};
    for (const [key, value] of Object.entries(labels)) {
      if (!Object.prototype.hasOwnProperty.call(have, key) || have[key] !== value) return false;
    }
  }
  return true;
}

/**
 * The runbook to run for a fault, or `undefined` when none matches (the fault is
 * then unhandled). A hint naming an existing runbook for the fault's kind wins;
 * otherwise the highest `priority` among matches wins, ties going to the name
 * that sorts first.
 */
export function selectRunbook<R extends RoutableRunbook>(runbooks: readonly R[], fault: RoutableFault): R | undefined {
  if (fault.runbook !== undefined) {
    const hinted = runbooks.find((r) => r.name === fault.runbook);
    if (hinted && hinted.match.kinds.includes(fault.kind)) return hinted;
  }
  let best: R | undefined;
  for (const candidate of runbooks) {
    if (!matchesFault(candidate, fault)) continue;
    if (
      best === undefined ||
      candidate.match.priority > best.match.priority ||
      (candidate.match.priority === best.match.priority && candidate.name < best.name)
    ) {
      best = candidate;
    }
  }
  return best;
}
