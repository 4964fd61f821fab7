import { freePorts } from './ports';

/** Loopback ports of one Temporal server process running every role. */
export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/**
 * Ports unless told otherwise: the dev server's layout shifted by 10000, so a
 * dev server (7233, 7234–7239, 6933–6939, 8233) can run beside a cluster.
 */
export const DEFAULT_CLUSTER_PORTS: ClusterPorts = {
  frontend: 17233,
  frontendHttp: 17243,
  frontendMembership: 16933,
  history: 17234,
  historyMembership: 16934,
  matching: 17235,
  matchingMembership: 16935,
  worker: 17239,
  workerMembership: 16939,
};

/**
 * The layout of {@link DEFAULT_CLUSTER_PORTS} moved so that the frontend is
 * `frontend` (the other roles keep their offsets from it: +1, +2, +6, +10,
 * membership −300…−294); checked against {@link MAX_CLUSTER_PORT}.
 */
export function clusterPortsAt(frontend: number): ClusterPorts {
  const shift = frontend - DEFAULT_CLUSTER_PORTS.frontend;
  const moved = Object.fromEntries(Object.entries(DEFAULT_CLUSTER_PORTS).map(([role, port]) => [role, port + shift])) as unknown as ClusterPorts;
  assertClusterPortRange(Object.values(moved));
  return moved;
}

/** How many ports {@link ClusterPorts} holds (for picking free ones). */
export const CLUSTER_PORT_COUNT = Object.keys(DEFAULT_CLUSTER_PORTS).length;

/**
 * The server records each role's membership port in a PostgreSQL `smallint`
 * (cluster_membership.rpc_port), so a port above this stops it at start-up.
 * Kernel-chosen free ports are usually above it: use {@link freeClusterPorts}.
 */
export const MAX_CLUSTER_PORT = 32767;

/** Throws unless every port is between 1 and {@link MAX_CLUSTER_PORT}. */
export function assertClusterPortRange(ports: Iterable<number>): void {
  const bad = [...ports].filter((p) => !Number.isInteger(p) || p > MAX_CLUSTER_PORT || p < 1);
  if (bad.length > 0) throw new Error(`cluster ports must be between 1 and ${MAX_CLUSTER_PORT}: ${bad.join(', ')}`);
}

/** Names `ports` in the order of {@link DEFAULT_CLUSTER_PORTS}; they must be distinct and at most {@link MAX_CLUSTER_PORT}. */
export function clusterPortsFrom(ports: number[]): ClusterPorts {
  if (new Set(ports).size !== CLUSTER_PORT_COUNT) throw new Error(`need ${CLUSTER_PORT_COUNT} distinct ports, got ${ports.join(', ')}`);
  assertClusterPortRange(ports);
  const names = Object.keys(DEFAULT_CLUSTER_PORTS) as (keyof ClusterPorts)[];
  return Object.fromEntries(names.map((name, i) => [name, ports[i]])) as unknown as ClusterPorts;
}


/** Free loopback ports for a cluster (a test's private cluster, where the defaults may be taken); all below {@link MAX_CLUSTER_PORT}. */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  return clusterPortsFrom(await freePorts(CLUSTER_PORT_COUNT));
}
