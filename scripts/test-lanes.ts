/**
 * The integration files split into two lanes that run side by side, each one
 * file at a time. Every file starts its own servers on free ports, so two
 * never share one; what they do share is the CPU, so the files that load the
 * machine for minutes (storms, clusters, the bench smoke, long outages) go in
 * one lane and never run together, and the many short files fill the other.
 */

/** Files that keep several servers busy for minutes; matched against the file name. */
export const HEAVY_INTEGRATION = /(storm|cluster|bench-smoke|temporal-outage|temporal-on-postgres|schedules)/;

/** The two lanes: the heavy files first, then the rest. A lane may be empty. */
export function integrationLanes(files: readonly string[]): [string[], string[]] {
  const heavy = files.filter((f) => HEAVY_INTEGRATION.test(f.split('/').pop() ?? f));
  const light = files.filter((f) => !heavy.includes(f));
  return [heavy, light];
}
