import { stringify } from 'yaml';
import { assertClusterPortRange, type ClusterPorts } from './cluster-ports';
import type { DatabaseEndpoint } from './postgres';

/**
 * Shards are fixed when the cluster is first created and cannot change
 * afterwards; 4 is plenty for one machine.
 * @default 4
 */
export const DEFAULT_HISTORY_SHARDS = 4;

/** What the server config is built from. */
export interface TemporalClusterConfigOptions {
  ports: ClusterPorts;
  database: DatabaseEndpoint;
  dynamicConfigFile: string;
  /** @default DEFAULT_HISTORY_SHARDS */
  numHistoryShards?: number;
  /** @default "warn" */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/**
 * Dynamic config the cluster starts with. Search attributes registered a
 * moment ago are read from the database at once instead of after the cache's
 * refresh, as on the dev server, so a namespace is usable as soon as it is
 * reported ready.
 */
export const CLUSTER_DYNAMIC_CONFIG: Record<string, { value: unknown; constraints?: Record<string, unknown> }[]> = {
  'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true }],
};

function sqlStore(database: DatabaseEndpoint, databaseName: string, maxConns: number): object {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${database.host}:${database.port}`,
      connectProtocol: 'tcp',
      user: database.user,
      password: database.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

function role(grpcPort: number, membershipPort: number, extra: Record<string, unknown> = {}): object {
  return { rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra } };
}

/**
 * The server's config YAML: PostgreSQL for both the default and the
 * visibility store, every role in one process on loopback, no archival and no
 * metrics or pprof listeners. It holds the database password: write it with
 * mode 0600.
 */
export function temporalClusterConfig(opts: TemporalClusterConfigOptions): string {
  const { ports } = opts;
  assertClusterPortRange(Object.values(ports));
  return stringify({
    log: { stdout: true, level: opts.logLevel ?? 'warn', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: opts.numHistoryShards ?? DEFAULT_HISTORY_SHARDS,
      datastores: {
        // Every role opens its own pool: 4 roles x 10 stays well under PostgreSQL's 100 connections.
        'postgres-default': sqlStore(opts.database, 'temporal', 10),
        'postgres-visibility': sqlStore(opts.database, 'temporal_visibility', 2),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: {
      frontend: role(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      history: role(ports.history, ports.historyMembership),
      matching: role(ports.matching, ports.matchingMembership),
      worker: role(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.frontend}` },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: opts.dynamicConfigFile, pollInterval: '10s' },
  });
}

/** The dynamic config file's YAML. */
export function temporalClusterDynamicConfig(): string {
  return stringify(CLUSTER_DYNAMIC_CONFIG);
}
