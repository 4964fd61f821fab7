import { resolve } from 'node:path';
import type { Config } from './config';

/**
 * Where PagerDuty events go. Paging is on exactly when a routing-key file is
 * configured (RUNBOOK_PAGERDUTY_ROUTING_KEY_FILE): the key is a secret, so it
 * lives in a file only the worker reads, never in the roster, the workflow or
 * its history; the worker re-reads it at every notice, so a rotated key
 * applies without a restart.
 */
export interface PagerDutySettings {
  /** Absolute path of the file holding the integration's routing key. */
  routingKeyFile: string;
  /** The Events API v2 endpoint events are posted to. */
  eventsUrl: string;
}

/** The worker's PagerDuty settings, or undefined when paging is off. */
export function pagerDutySettings(config: Pick<Config, 'pagerdutyRoutingKeyFile' | 'pagerdutyEventsUrl'>): PagerDutySettings | undefined {
  if (!config.pagerdutyRoutingKeyFile) return undefined;
  return { routingKeyFile: resolve(config.pagerdutyRoutingKeyFile), eventsUrl: config.pagerdutyEventsUrl };
}
