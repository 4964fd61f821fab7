import type { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { ENV, loadConfig, type Config, type ConfigKey } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { NatsCredentialError } from '../config/nats-credentials';
import type { NatsRole } from '../config/nats-permissions';
import { readStackFile } from '../stack/stack-file';
import { CliError } from './cli-error';

export { CliError };

/**
 * Configuration for CLI commands: flags > environment > the running stack's
 * stack.json (so `runbook up --nats-port 5222` and later commands agree) > defaults.
 */
export function cliConfig(flags: Partial<Record<ConfigKey, unknown>>): Config {
  const base = loadConfig(flags);
  const stack = readStackFile(base.stateDir);
  if (!stack) return base;
  const fromStack: Partial<Record<ConfigKey, unknown>> = {
    temporalAddress: stack.temporalAddress,
    natsUrl: stack.natsUrl,
    namespace: stack.namespace,
    taskQueue: stack.taskQueue,
    intakePort: stack.ports.intake,
    workerMetricsPort: stack.ports.worker,
  };
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(fromStack)) {
    if (value !== undefined) env[ENV[key as ConfigKey]] = String(value);
  }
  return loadConfig(flags, { ...env, ...process.env });
}

/** A Temporal client for the configured namespace; close the connection when done. */
export async function temporalClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  // Outside the try: an unreadable certificate or key file is a configuration error, not an unreachable server.
  const options = await temporalConnectOptions(config);
  // Required here, not imported: commands that only publish to NATS never load the Temporal client.
  const { Client, Connection } = require('@temporalio/client') as typeof import('@temporalio/client');
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 3_000 });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${config.temporalAddress} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
  return { client: new Client({ connection, namespace: config.namespace }), close: () => connection.close() };
}

/** A NATS connection as `role` (`producer` for faults, `operator` for the rest) that fails fast with a clear message. */
export async function natsConnection(config: Config, role: NatsRole): Promise<NatsConnection> {
  const { connectNats } = require('../config/nats-connect') as typeof import('../config/nats-connect');
  try {
    return await connectNats(config, role, { timeout: 3_000, name: `runbook-cli-${role}` });
  } catch (err) {
    if (err instanceof NatsCredentialError) throw new CliError(err.message);
    throw new CliError(`cannot reach NATS at ${config.natsUrl} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
}
