import type { Client, Connection } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { ENV, loadConfig, type Config, type ConfigKey } from '../config/config';
import { temporalConnectOptions, type TemporalConnectOptions } from '../config/temporal-connection';
import type { NatsRole } from '../config/nats-permissions';
import type { TemporalHttpClient, TemporalHttpTls } from '../platform/temporal-http';
import type { IncidentSummary } from '../incidents/list-incidents';
import type { IncidentWorkflowReads } from '../incidents/incident-workflow-reads';
import type { GrpcTls } from '../platform/grpc-unary';
import type { TemporalGrpcReads } from '../platform/temporal-grpc-reads';
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
  const config = loadConfig(flags, { ...env, ...process.env });
  // The stack's HTTP API belongs to the stack's frontend only: a command pointed at another Temporal reads that one over gRPC.
  if (config.temporalHttpAddress === undefined && stack.temporalHttpAddress !== undefined && config.temporalAddress === stack.temporalAddress) {
    return { ...config, temporalHttpAddress: stack.temporalHttpAddress };
  }
  return config;
}

/** The SDK's TLS settings as node:https and node:http2 take them. */
function nodeTls(tls: TemporalConnectOptions['tls']): (TemporalHttpTls & GrpcTls) | undefined {
  if (tls === undefined || tls === true) return tls;
  return {
    ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
    ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
    ...(tls.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
  };
}

/**
 * Temporal's HTTP API for the configured namespace, or undefined when no
 * address is known (or RUNBOOK_TEMPORAL_HTTP=false): then the caller uses the
 * gRPC client. The TLS settings and API key are the gRPC connection's, from
 * the same factory, and node:https honours each of them.
 */
export async function temporalHttp(config: Config): Promise<TemporalHttpClient | undefined> {
  if (!config.temporalHttp || config.temporalHttpAddress === undefined) return undefined;
  const options = await temporalConnectOptions(config);
  const tls: TemporalHttpTls | undefined = nodeTls(options.tls);
  const { temporalHttpClient } = require('../platform/temporal-http') as typeof import('../platform/temporal-http');
  return temporalHttpClient({ address: config.temporalHttpAddress, namespace: config.namespace, ...(tls ? { tls } : {}), ...(options.apiKey ? { apiKey: options.apiKey } : {}) });
}

/**
 * The incidents a visibility query matches: over Temporal's HTTP API when its
 * address is known, so `runbook incidents` never loads @temporalio/client;
 * otherwise over the gRPC client.
 */
export async function listIncidentsFor(config: Config, query: string, limit: number): Promise<IncidentSummary[]> {
  const http = await temporalHttp(config);
  if (!http) {
    const { client, close } = await temporalClient(config);
    try {
      const { listIncidents } = require('../incidents/list-incidents') as typeof import('../incidents/list-incidents');
      return await listIncidents(client, query, limit);
    } finally {
      await close();
    }
  }
  const { TemporalHttpError } = require('../platform/temporal-http') as typeof import('../platform/temporal-http');
  const { listIncidentsOverHttp } = require('../incidents/incident-reads-http') as typeof import('../incidents/incident-reads-http');
  try {
    return await listIncidentsOverHttp(http, query, limit);
  } catch (err) {
    // An answer from Temporal is passed on as it is; no answer at all names the address, as a failed gRPC connect does.
    if (err instanceof TemporalHttpError) throw err;
    throw new CliError(`cannot reach Temporal at ${http.endpoint.address} (${(err as Error).message}); is the stack up? Try: runbook status`);
  } finally {
    http.close();
  }
}

/**
 * Reads of one incident's workflow for `show` and `audit`: over the lean gRPC
 * reader (node:http2, no Temporal SDK), or over the SDK client with
 * RUNBOOK_TEMPORAL_HTTP=false, which keeps every read on the SDK. Close when done.
 */
export async function incidentReads(config: Config): Promise<{ reads: IncidentWorkflowReads; close: () => Promise<void> }> {
  if (!config.temporalHttp) {
    const { client, close } = await temporalClient(config);
    const { sdkIncidentReads } = require('../incidents/read-incident') as typeof import('../incidents/read-incident');
    return { reads: sdkIncidentReads(client), close };
  }
  const options = await temporalConnectOptions(config);
  const { connectTemporalGrpcReads } = require('../platform/temporal-grpc-reads') as typeof import('../platform/temporal-grpc-reads');
  const { grpcIncidentReads } = require('../incidents/incident-reads-grpc') as typeof import('../incidents/incident-reads-grpc');
  const tls: GrpcTls | undefined = nodeTls(options.tls);
  let reads: TemporalGrpcReads;
  try {
    reads = await connectTemporalGrpcReads({ address: options.address, ...(tls ? { tls } : {}), ...(options.apiKey ? { apiKey: options.apiKey } : {}) }, config.namespace);
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${config.temporalAddress} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
  return { reads: grpcIncidentReads(reads), close: async () => reads.close() };
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
  // Required here, not imported: it loads bcrypt, which a command that reads Temporal only never needs.
  const { NatsCredentialError } = require('../config/nats-credentials') as typeof import('../config/nats-credentials');
  try {
    return await connectNats(config, role, { timeout: 3_000, name: `runbook-cli-${role}` });
  } catch (err) {
    if (err instanceof NatsCredentialError) throw new CliError(err.message);
    throw new CliError(`cannot reach NATS at ${config.natsUrl} (${(err as Error).message}); is the stack up? Try: runbook status`);
  }
}
