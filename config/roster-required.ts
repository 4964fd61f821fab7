import { resolve } from 'node:path';
import { ConfigError, ENV, type Config } from './config';
import { loadRosterFile, type Roster } from './roster';

/**
 * The roster a process starts with. In production one is required: without
 * it membership is not checked and any token holder could approve or decide
 * an escalation, so a missing, unreadable or invalid roster stops start-up
 * with an error naming `RUNBOOK_ROSTER_FILE`. In development a missing
 * roster is allowed (undefined) and a broken one is reported when a gate
 * reads it, as before.
 */
export async function rosterAtStart(config: Pick<Config, 'mode' | 'rosterFile'>): Promise<Roster | undefined> {
  if (config.mode !== 'production') return undefined;
  if (!config.rosterFile) {
    throw new ConfigError(
      `${ENV.rosterFile} is required when ${ENV.mode}=production: without a roster anyone holding an API token could approve or decide escalations. Point it at the roster of on-call groups (docs/approvals.md#roster).`,
    );
  }
  try {
    return await loadRosterFile(resolve(config.rosterFile));
  } catch (err) {
    throw new ConfigError(`${ENV.rosterFile} (${ENV.mode}=production) is not a usable roster:\n${(err as Error).message}`);
  }
}
