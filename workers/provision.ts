import type { NatsConnection } from 'nats';
import { openEffectsBucket } from '../activities/effect-ledger';
import { ensureAuditStream } from '../audit/audit-stream';
import { loadConfig, type Config } from '../config/config';
import { connectNats } from '../config/nats-connect';
import { DEFAULT_MAX_DELIVER, ensureJetStream } from '../intake/streams';
import { createLogger, type Logger } from '../observability/logger';
import { CONTROL_BUCKET } from '../schemas/control-bucket';

/**
 * Creates every stream, KV bucket and consumer the product uses, as the NATS
 * `admin` user: the fault streams and the intake's consumer, the audit stream,
 * the control bucket and the effects ledger, each with `replicas` copies
 * (`RUNBOOK_NATS_REPLICAS`; the node count on a cluster). Idempotent: what exists is
 * checked, not rewritten. The other roles only use these, and may not create
 * (except the intake, see docs/security.md), update, delete or purge them.
 */
export async function provisionNats(nc: NatsConnection, logger: Logger, maxDeliver = DEFAULT_MAX_DELIVER, replicas = 1): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await ensureJetStream(jsm, logger, { maxDeliver, replicas });
  await ensureAuditStream(jsm, undefined, replicas);
  const js = nc.jetstream();
  await js.views.kv(CONTROL_BUCKET, { replicas });
  await openEffectsBucket(js, replicas);
}

/** Connects as `admin` and provisions; the connection is closed afterwards. */
export async function provisionWithConfig(config: Config, logger: Logger): Promise<void> {
  const nc = await connectNats(config, 'admin', { name: 'runbook-provision', timeout: 5_000 });
  try {
    await provisionNats(nc, logger, config.intakeMaxDeliver ?? DEFAULT_MAX_DELIVER, config.natsReplicas);
  } finally {
    await nc.close();
  }
}

if (require.main === module) {
  const config = loadConfig();
  const logger = createLogger('provision', config.logLevel);
  provisionWithConfig(config, logger).then(
    () => logger.info('NATS streams, buckets and consumers provisioned'),
    (err: unknown) => {
      process.stderr.write(`provision: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
