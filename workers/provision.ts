import type { NatsConnection } from 'nats';
import { EFFECTS_BUCKET, openEffectsBucket } from '../activities/effect-ledger';
import { AUDIT_STREAM, ensureAuditStream } from '../audit/audit-stream';
import { loadConfig, natsReplicasFor, type Config } from '../config/config';
import { connectNats } from '../config/nats-connect';
import { DEAD_LETTER_STREAM, DEFAULT_MAX_DELIVER, ensureJetStream, FAULTS_STREAM, outlastElection, UNHANDLED_STREAM } from '../intake/streams';
import { createLogger, type Logger } from '../observability/logger';
import { CONTROL_BUCKET } from '../schemas/control-bucket';
import { ensureStreamReplicas, type ReplicaChange } from './stream-replicas';

/** How to provision: the consumer's delivery bound and the copies of every stream and bucket. */
export interface ProvisionOptions {
  maxDeliver?: number;
  /** 1 for the single server; 3 on a three-node cluster. @default 1 */
  replicas?: number;
}

/**
 * Creates every stream, KV bucket and consumer the product uses, as the NATS
 * `admin` user: the fault streams and the intake's consumer, the audit stream,
 * the control bucket and the effects ledger, each with `replicas` copies.
 * Idempotent: what exists is checked, not rewritten, except its replica
 * count, which is changed to `replicas` first (see ensureStreamReplicas). The
 * other roles only use these, and may not create (except the intake, see
 * docs/security.md), update, delete or purge them.
 */
export async function provisionNats(nc: NatsConnection, logger: Logger, options: ProvisionOptions = {}): Promise<ReplicaChange[]> {
  const replicas = options.replicas ?? 1;
  const jsm = await nc.jetstreamManager();
  const changes: ReplicaChange[] = [];
  for (const stream of PROVISIONED_STREAMS) changes.push(await ensureStreamReplicas(jsm, stream, replicas, logger));
  await ensureJetStream(jsm, logger, { maxDeliver: options.maxDeliver ?? DEFAULT_MAX_DELIVER, replicas });
  await ensureAuditStream(jsm, undefined, replicas);
  const js = nc.jetstream();
  await js.views.kv(CONTROL_BUCKET, { replicas });
  await openEffectsBucket(js, replicas);
  return changes;
}

/** Every stream provisioning owns, KV buckets' streams included. */
export const PROVISIONED_STREAMS = [FAULTS_STREAM, DEAD_LETTER_STREAM, UNHANDLED_STREAM, AUDIT_STREAM, `KV_${CONTROL_BUCKET}`, `KV_${EFFECTS_BUCKET}`];

/** How long provisioning waits out leader elections: a whole cluster restarted elects a leader for every stream. */
const PROVISION_ELECTION_BOUND_MS = 90_000;

/**
 * Connects as `admin` and provisions; the connection is closed afterwards.
 * Provisioning is idempotent, so while the cluster is still electing leaders
 * (it answers with timeouts or "temporarily unavailable") it starts over.
 */
export async function provisionWithConfig(config: Config, logger: Logger): Promise<void> {
  const nc = await connectNats(config, 'admin', { name: 'runbook-provision', timeout: 5_000 });
  try {
    await outlastElection(() => provisionNats(nc, logger, { maxDeliver: config.intakeMaxDeliver ?? DEFAULT_MAX_DELIVER, replicas: natsReplicasFor(config) }), PROVISION_ELECTION_BOUND_MS);
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
