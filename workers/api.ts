import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { tokenAuthenticator } from '../api/auth';
import { startApiServer } from '../api/server';
import { ensureAuditStream, jetStreamAuditSink } from '../audit/audit-stream';
import { loadConfig } from '../config/config';
import { temporalConnectOptions } from '../config/temporal-connection';
import { connectNats } from '../config/nats-connect';
import { decisionKeyPath, readDecisionKey } from '../config/decision-key';
import { rosterAtStart } from '../config/roster-required';
import { loadTokensFile } from '../config/tokens';
import { closeHttpServer } from '../observability/http-server';
import { createLogger } from '../observability/logger';

/** The approval API process: decisions and incident reads over HTTP, authenticated by bearer tokens. */
async function main(): Promise<void> {
  const config = loadConfig();
  // The API signs what the worker will count; in production it refuses to run where membership would not be checked.
  await rosterAtStart(config);
  const logger = createLogger('api', config.logLevel);
  const tokensFile = config.tokensFile ? resolve(config.tokensFile) : undefined;
  // A malformed tokens file stops start-up with file:line errors rather than locking everyone out later.
  if (tokensFile) await loadTokensFile(tokensFile);
  else logger.warn('no tokens file configured; every request to /incidents will be refused', { variable: 'RUNBOOK_TOKENS_FILE' });
  // Read once at start: rotating the key means writing a new file and restarting the API and the worker.
  const decisionKey = readDecisionKey(resolve(decisionKeyPath(config)));
  const connection = await Connection.connect(await temporalConnectOptions(config));
  const client = new Client({ connection, namespace: config.namespace });
  const nc = await connectNats(config, 'api', { name: 'runbook-api', reconnect: true, maxReconnectAttempts: -1 });
  await ensureAuditStream(await nc.jetstreamManager());
  const server = await startApiServer({
    client,
    decisionKey,
    auth: tokenAuthenticator(tokensFile),
    logger,
    port: config.apiPort,
    authFailuresPerMinute: config.apiAuthFailuresPerMinute,
    audit: jetStreamAuditSink(nc.jetstream()),
    nats: nc,
    rosterFile: config.rosterFile ? resolve(config.rosterFile) : undefined,
    namespace: config.namespace,
    temporalUiUrl: config.temporalUiUrl ?? (config.mode === 'development' ? `http://127.0.0.1:${config.temporalUiPort}` : undefined),
  });
  logger.info('api started', { port: config.apiPort, console: `http://127.0.0.1:${config.apiPort}/`, temporal: config.temporalAddress, namespace: config.namespace });
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await closeHttpServer(server);
  await connection.close();
  await nc.drain().catch(() => undefined);
  logger.info('api stopped');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`api: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
