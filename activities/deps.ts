import type { NatsConnection } from 'nats';
import type { Logger } from '../observability/logger';
import type { SecretSource } from './adapters/secrets';
import type { RegisteredService } from '../config/services';
import type { EffectLedger } from './effect-ledger';
import type { PauseState } from './types';

/** What the activities need from the worker process that hosts them. */
export interface ActivityDeps {
  logger: Logger;
  /** Worker-wide dry run: every changing action only plans, whatever the request says. */
  dryRun: boolean;
  /** Services the `supervisor` actions may name, by name (see `config/services.ts`). */
  services?: Readonly<Record<string, RegisteredService>>;
  /** Where `{ env }` secret references are read from: the worker's environment, captured at start-up. */
  secretSource?: SecretSource;
  /** Connection for `notify` actions that publish to a NATS subject; without it they fail. */
  nats?: NatsConnection;
  /** Reads the pause switch for requests with `holdWhilePaused`; without it nothing is ever held. */
  pauseSwitch?: () => Promise<PauseState>;
  /** Where non-idempotent actions record their start and end; without it they fail (retryably) rather than run blind. */
  effects?: EffectLedger;
  /** The decision key (config/decision-key.ts); without it no decision is vouched for. */
  decisionKey?: Buffer;
  systemctlPath?: string;
  rsyncPath?: string;
}
