/**
 * The full incident id for a reference as people type it: the full
 * `incident/app/primary` or the short `app/primary`. Not validated here;
 * Temporal (or the caller's own pattern) decides whether it exists.
 */
export function fullIncidentId(ref: string): string {
  return ref.startsWith('incident/') ? ref : `incident/${ref}`;
}
