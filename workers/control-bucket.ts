import type { KV, NatsConnection } from 'nats';
import { CONTROL_BUCKET } from '../schemas/control-bucket';
import type { Logger } from '../observability/logger';

/** How long one attempt to reach NATS for the control bucket may take; a held step asks again later. */
export const CONTROL_CONNECT_TIMEOUT_MS = 2_000;

/** The control bucket as the worker keeps it: opened on demand, closed at shutdown. */
export interface ControlBucket {
  /** The open bucket; rejects with why while NATS or the bucket cannot be reached. */
  control(): Promise<KV>;
  /** A live connection to NATS, the worker's own or one opened on demand; the effect ledger shares it. */
  connection(): Promise<NatsConnection>;
  close(): Promise<void>;
}

/** What {@link lazyControlBucket} needs. */
export interface ControlBucketOptions {
  /** For messages only. */
  natsUrl: string;
  /** Opens a connection as the worker (see connectNats), with a short timeout so a held step asks again later. */
  connect: () => Promise<NatsConnection>;
  logger: Logger;
  /** The worker's own connection, if it had one at start-up. */
  connection?: NatsConnection;
}

/**
 * Opens the pause switch's bucket on first use and again after every failure,
 * so a worker that started while NATS was down learns the pause state as soon
 * as NATS is back instead of never (the reader treats every failure here as
 * "pause state unknown" and holds remediation).
 */
export function lazyControlBucket(opts: ControlBucketOptions): ControlBucket {
  let own: NatsConnection | undefined;
  let kv: KV | undefined;
  let opening: Promise<KV> | undefined;

  const connection = async (): Promise<NatsConnection> => {
    if (opts.connection && !opts.connection.isClosed()) return opts.connection;
    if (own && !own.isClosed()) return own;
    own = await opts.connect();
    opts.logger.info('NATS reached; the pause switch can be read');
    return own;
  };

  const open = async (): Promise<KV> => {
    try {
      const nc = await connection();
      kv = await nc.jetstream().views.kv(CONTROL_BUCKET);
      return kv;
    } catch (err) {
      throw new Error(`NATS at ${opts.natsUrl} not reachable: ${(err as Error).message}`, { cause: err });
    } finally {
      opening = undefined;
    }
  };

  return {
    control: () => (kv ? Promise.resolve(kv) : (opening ??= open())),
    connection,
    async close() {
      await own?.drain().catch(() => undefined);
    },
  };
}
