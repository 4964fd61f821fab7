import type { Logger } from '../observability/logger';

/** What activities need from the process that hosts them. */
export interface ActivityDeps {
  logger: Logger;
  dryRun: boolean;
}

/** Builds the activity implementations registered on the runbook worker. */
export function createActivities(deps: ActivityDeps) {
  void deps;
  return {};
}

/** Activity interface as workflows see it (`import type` only). */
export type Activities = ReturnType<typeof createActivities>;
