import type { HumanRequest } from '../schemas/incident-state';

/** Refused decisions kept on one request; later ones are only counted. */
export const MAX_REFUSED_KEPT = 20;

/**
 * Whether one more refused decision is kept on `request`. Past the first
 * {@link MAX_REFUSED_KEPT}, it only raises `refusedOmitted`: a flood of bad or
 * stale decisions must not grow the incident's state and history without limit.
 */
export function keepRefusal(request: HumanRequest): boolean {
  const refused = request.decisions.filter((d) => !d.accepted).length;
  if (refused < MAX_REFUSED_KEPT) return true;
  request.refusedOmitted = (request.refusedOmitted ?? 0) + 1;
  return false;
}
