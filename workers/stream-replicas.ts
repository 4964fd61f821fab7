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
  await settled(jsm, stream, replicas);
  return { stream, outcome: 'updated', from };
}

/** How long a rescaled stream may take to elect a leader and bring its new copies up to date. */
const SETTLE_MS = 30_000;

/**
 * Waits until the rescaled stream, and each of its consumers (they follow the
 * stream's count), has a leader and `replicas - 1` current followers: until
 * then their raft groups are re-forming, and the consumer calls provisioning
 * makes next fail with a timeout.
 */
async function settled(jsm: JetStreamManager, stream: string, replicas: number): Promise<void> {
  if (replicas <= 1) return;
  const deadline = Date.now() + SETTLE_MS;
  let seen = 'no answer';
  for (;;) {
    try {
      const groups = [{ name: `stream ${stream}`, cluster: (await jsm.streams.info(stream)).cluster }];
      for await (const consumer of jsm.consumers.list(stream)) groups.push({ name: `consumer ${consumer.name}`, cluster: consumer.cluster });
      const behind = groups.filter(({ cluster }) => !cluster?.leader || (cluster.replicas ?? []).filter((r) => r.current).length < replicas - 1);
      if (behind.length === 0) return;
      seen = behind.map(({ name, cluster }) => `${name}: leader ${cluster?.leader ?? 'none'}, ${(cluster?.replicas ?? []).filter((r) => r.current).length} current followers`).join('; ');
    } catch (err) {
      seen = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`stream ${stream} did not settle at ${replicas} copies within ${SETTLE_MS / 1_000} s (${seen})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
