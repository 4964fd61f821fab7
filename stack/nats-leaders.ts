import { z } from 'zod';

/** One stream as a NATS cluster reports it: which node leads it and how its other replicas are doing. */
export interface StreamPlacement {
  name: string;
  leader?: string;
  /** The followers; `current` is false while one is catching up (or its node is down). */
  followers: { name: string; current: boolean }[];
  messages: number;
}

/** Who leads what in a NATS cluster, as one node sees it. */
export interface NatsClusterView {
  /** The node whose answer the meta leader came from (the meta leader's own when it answered). */
  reportedBy: string;
  metaLeader?: string;
  streams: StreamPlacement[];
}

const Replica = z.object({ name: z.string(), current: z.boolean().optional() });
const Jsz = z.object({
  meta_cluster: z.object({ leader: z.string().optional() }).optional(),
  account_details: z
    .array(
      z.object({
        stream_detail: z
          .array(
            z.object({
              name: z.string(),
              cluster: z.object({ leader: z.string().optional(), replicas: z.array(Replica).optional() }).optional(),
              state: z.object({ messages: z.number().optional() }).optional(),
            }),
          )
          .optional(),
      }),
    )
    .optional(),
});

/** A node of the cluster and where its monitoring endpoint listens. */
export interface MonitoredNode {
  name: string;
  monitorUrl: string;
}

type Jsz = z.infer<typeof Jsz>;

async function jsz(node: MonitoredNode, timeoutMs: number): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`${node.monitorUrl.replace(/\/+$/, '')}/jsz?accounts=true&streams=true`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const parsed = Jsz.safeParse(await res.json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks every node's monitoring endpoint (`/jsz`) and puts together who leads
 * what. A node lists a stream's replicas other than itself, so each stream's
 * followers and whether they are current are read from its leader's answer;
 * when the leader does not answer, from another node's, with that node's own
 * state unknown (shown as not current). Undefined when no node names a meta
 * leader: the cluster has no quorum.
 */
export async function natsClusterView(nodes: readonly MonitoredNode[], timeoutMs = 1_500): Promise<NatsClusterView | undefined> {
  const answers = (await Promise.all(nodes.map(async (node) => ({ node, body: await jsz(node, timeoutMs) })))).filter((a) => a.body?.meta_cluster?.leader);
  const first = answers[0];
  if (!first?.body) return undefined;
  const streamsOf = (body: Jsz | undefined): NonNullable<NonNullable<Jsz['account_details']>[number]['stream_detail']> => (body?.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
  const names = [...new Set(answers.flatMap((a) => streamsOf(a.body).map((s) => s.name)))].sort();
  const streams = names.map((name): StreamPlacement => {
    const seen = answers.map((a) => ({ node: a.node.name, stream: streamsOf(a.body).find((s) => s.name === name) })).filter((x) => x.stream);
    const leader = seen.find((x) => x.stream?.cluster?.leader)?.stream?.cluster?.leader;
    const fromLeader = seen.find((x) => x.node === leader);
    const view = fromLeader ?? seen[0];
    const listed = (view?.stream?.cluster?.replicas ?? []).map((r) => ({ name: r.name, current: r.current ?? false }));
    const self = view && view.node !== leader ? [{ name: view.node, current: false }] : [];
    const followers = [...listed, ...self].filter((f) => f.name !== leader).sort((a, b) => a.name.localeCompare(b.name));
    return { name, ...(leader ? { leader } : {}), followers, messages: view?.stream?.state?.messages ?? 0 };
  });
  const metaLeader = first.body.meta_cluster?.leader;
  return { reportedBy: (answers.find((a) => a.node.name === metaLeader) ?? first).node.name, ...(metaLeader ? { metaLeader } : {}), streams };
}

/** What a node leads, for its line in `runbook status`: `meta leader; leads FAULTS, DEAD_LETTERS`. */
export function leadershipText(node: string, view: NatsClusterView): string {
  const leads = view.streams.filter((s) => s.leader === node).map((s) => s.name);
  return [...(view.metaLeader === node ? ['meta leader'] : []), ...(leads.length ? [`leads ${leads.join(', ')}`] : [])].join('; ');
}

/** One line per stream: its leader and each follower's state. */
export function streamLines(view: NatsClusterView): string[] {
  return view.streams.map((s) => {
    const followers = s.followers.map((f) => `${f.name} ${f.current ? 'current' : 'catching up'}`).join(', ');
    return `${s.name}: leader ${s.leader ?? 'none (no quorum)'}${followers ? `, followers ${followers}` : ''}, ${s.messages} messages`;
  });
}
