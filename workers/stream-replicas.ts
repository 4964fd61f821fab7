import type { JetStreamManager } from 'nats';
import { isNotFound } from '../intake/streams';
import type { Logger } from '../observability/logger';

/** What became of one stream's replica count. */
export type ReplicaChange = { stream: string; outcome: 'missing' | 'unchanged' | 'updated'; from?: number } | { stream: string; outcome: 'refused'; from: number; error: string };

/**
 * Gives an existing stream `replicas` copies. nats-server changes a stream's
 * replica count in place on a cluster (it copies the data to the new peers,
 * or drops peers when scaling down), and its consumers that follow the
 * stream's count move with it; a single server refuses any count above 1,
 * and a cluster one above its size. A refusal is logged and returned, never
 * thrown: the stream still works with the copies it has.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, replicas: number, logger: Logger): Promise<ReplicaChange> {
  const info = await jsm.streams.info(stream).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!info) return { stream, outcome: 'missing' };
  const from = info.config.num_replicas || 1;
  if (from === replicas) return { stream, outcome: 'unchanged' };
  try {
    await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    logger.warn('stream replica count not changed', { stream, from, want: replicas, error });
    return { stream, outcome: 'refused', from, error };
  }
  logger.info('stream replica count changed', { stream, from, to: replicas });
  return { stream, outcome: 'updated', from };
}
