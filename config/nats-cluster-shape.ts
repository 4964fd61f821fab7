/**
 * The shape of a clustered NATS deployment, in one place: docker-compose.yml
 * runs these nodes, `runbook deploy-secrets` writes each one's route include,
 * the certificate generator puts their names on the server certificate, and
 * every stream and bucket is provisioned with {@link NATS_CLUSTER_REPLICAS}
 * copies. A local cluster reads the same constants, so the deployment and
 * the local cluster cannot disagree on how many copies a message has.
 */

/** Host names of the NATS nodes, also their `server_name`s. */
export const NATS_CLUSTER_NODES = ['nats-1', 'nats-2', 'nats-3'] as const;
export type NatsClusterNode = (typeof NATS_CLUSTER_NODES)[number];

/**
 * Copies of every stream and KV bucket: one per node, so any one node can be
 * lost (or restarted for an upgrade) while the other two keep a quorum.
 * @default 3
 */
export const NATS_CLUSTER_REPLICAS = NATS_CLUSTER_NODES.length;

/** The cluster's name; every node must use the same one. */
export const NATS_CLUSTER_NAME = 'runbooks';

/** Port the nodes route to each other on. */
export const NATS_ROUTE_PORT = 6222;

/** The user nodes present to each other on routes. */
export const NATS_ROUTE_USER = 'route';

/** The client URL list that reaches every node over TLS, as `RUNBOOK_NATS_URL` takes it. */
export function natsClusterUrl(port = 4222): string {
  return NATS_CLUSTER_NODES.map((node) => `tls://${node}:${port}`).join(',');
}
