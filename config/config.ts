import { z } from 'zod';
import { DURATION_PATTERN } from '../engine/duration';
import { resolveTemporalSecurity } from './temporal-security';

/**
 * Every environment variable the processes read, in one place. Values given as
 * explicit options (CLI flags) win over these, and these win over defaults.
 */
export const ENV = {
  stateDir: 'RUNBOOK_STATE_DIR',
  temporalAddress: 'RUNBOOK_TEMPORAL_ADDRESS',
  temporalTls: 'RUNBOOK_TEMPORAL_TLS',
  temporalTlsCa: 'RUNBOOK_TEMPORAL_TLS_CA',
  temporalTlsCert: 'RUNBOOK_TEMPORAL_TLS_CERT',
  temporalTlsKey: 'RUNBOOK_TEMPORAL_TLS_KEY',
  temporalTlsServerName: 'RUNBOOK_TEMPORAL_TLS_SERVER_NAME',
  temporalApiKeyFile: 'RUNBOOK_TEMPORAL_API_KEY_FILE',
  temporalHttpAddress: 'RUNBOOK_TEMPORAL_HTTP_ADDRESS',
  temporalHttp: 'RUNBOOK_TEMPORAL_HTTP',
  namespace: 'RUNBOOK_NAMESPACE',
  taskQueue: 'RUNBOOK_TASK_QUEUE',
  natsUrl: 'RUNBOOK_NATS_URL',
  natsCreds: 'RUNBOOK_NATS_CREDS',
  natsUser: 'RUNBOOK_NATS_USER',
  natsPasswordFile: 'RUNBOOK_NATS_PASSWORD_FILE',
  natsTlsCa: 'RUNBOOK_NATS_TLS_CA',
  natsTlsCert: 'RUNBOOK_NATS_TLS_CERT',
  natsTlsKey: 'RUNBOOK_NATS_TLS_KEY',
  natsReplicas: 'RUNBOOK_NATS_REPLICAS',
  mode: 'RUNBOOK_MODE',
  workflowBundle: 'RUNBOOK_WORKFLOW_BUNDLE',
  runbooksDir: 'RUNBOOK_RUNBOOKS_DIR',
  logLevel: 'RUNBOOK_LOG_LEVEL',
  temporalPort: 'RUNBOOK_TEMPORAL_PORT',
  temporalHttpPort: 'RUNBOOK_TEMPORAL_HTTP_PORT',
  temporalUiPort: 'RUNBOOK_TEMPORAL_UI_PORT',
  temporalUiUrl: 'RUNBOOK_TEMPORAL_UI_URL',
  natsPort: 'RUNBOOK_NATS_PORT',
  natsMonitorPort: 'RUNBOOK_NATS_MONITOR_PORT',
  natsClusterPort: 'RUNBOOK_NATS_CLUSTER_PORT',
  intakePort: 'RUNBOOK_INTAKE_PORT',
  workerMetricsPort: 'RUNBOOK_WORKER_METRICS_PORT',
  apiPort: 'RUNBOOK_API_PORT',
  postgresPort: 'RUNBOOK_POSTGRES_PORT',
  intakeConcurrency: 'RUNBOOK_INTAKE_CONCURRENCY',
  dryRun: 'RUNBOOK_DRY_RUN',
  alertmanagerMappingFile: 'RUNBOOK_ALERTMANAGER_MAPPING_FILE',
  servicesFile: 'RUNBOOK_SERVICES_FILE',
  backupsFile: 'RUNBOOK_BACKUPS_FILE',
  replicationFile: 'RUNBOOK_REPLICATION_FILE',
  objectivesFile: 'RUNBOOK_OBJECTIVES_FILE',
  reportRefreshMs: 'RUNBOOK_REPORT_REFRESH_MS',
  intakeAckGateDir: 'RUNBOOK_INTAKE_ACK_GATE_DIR',
  intakeMaxDeliver: 'RUNBOOK_INTAKE_MAX_DELIVER',
  intakeNakBaseMs: 'RUNBOOK_INTAKE_NAK_BASE_MS',
  intakeNakMaxMs: 'RUNBOOK_INTAKE_NAK_MAX_MS',
  intakeWebhookAuth: 'RUNBOOK_INTAKE_WEBHOOK_AUTH',
  intakeWebhookTokenFile: 'RUNBOOK_INTAKE_WEBHOOK_TOKEN_FILE',
  intakeWebhookBasicUser: 'RUNBOOK_INTAKE_WEBHOOK_BASIC_USER',
  intakeWebhookBasicPasswordFile: 'RUNBOOK_INTAKE_WEBHOOK_BASIC_PASSWORD_FILE',
  intakeWebhookBurst: 'RUNBOOK_INTAKE_WEBHOOK_BURST',
  intakeWebhookRatePerSecond: 'RUNBOOK_INTAKE_WEBHOOK_RATE_PER_SECOND',
  apiAuthFailuresPerMinute: 'RUNBOOK_API_AUTH_FAILURES_PER_MINUTE',
  rosterFile: 'RUNBOOK_ROSTER_FILE',
  tokensFile: 'RUNBOOK_TOKENS_FILE',
  apiUrl: 'RUNBOOK_API_URL',
  apiToken: 'RUNBOOK_API_TOKEN',
  quietPeriod: 'RUNBOOK_QUIET_PERIOD',
  decisionKeyFile: 'RUNBOOK_DECISION_KEY_FILE',
  consoleUrl: 'RUNBOOK_CONSOLE_URL',
  pagerdutyRoutingKeyFile: 'RUNBOOK_PAGERDUTY_ROUTING_KEY_FILE',
  pagerdutyEventsUrl: 'RUNBOOK_PAGERDUTY_EVENTS_URL',
} as const;

export type ConfigKey = keyof typeof ENV;

const port = z.coerce.number().int().min(1).max(65535);
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

const NATS_URL = /^(nats|tls):\/\/[^\s,]+$/;

/**
 * The servers of a RUNBOOK_NATS_URL value: comma-separated, blanks around
 * commas ignored. An empty entry is kept (as '') so validation names it.
 */
export function natsServerList(natsUrl: string): string[] {
  return natsUrl.split(',').map((entry) => entry.trim());
}

/** Shape of the resolved configuration shared by every process. */
export const Config = z.object({
  stateDir: z.string().min(1).default('.runbook'),
  temporalAddress: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  /** TLS to Temporal; on when unset and any other Temporal TLS or API key setting is given (see config/temporal-security.ts). */
  temporalTls: bool.optional(),
  /** PEM file of the CA that signed Temporal's server certificate; the system's trusted CAs when unset. Read at connect time. */
  temporalTlsCa: z.string().min(1).optional(),
  /** PEM file of the client certificate for mTLS; needs {@link temporalTlsKey}. */
  temporalTlsCert: z.string().min(1).optional(),
  /** PEM file of the client certificate's private key; needs {@link temporalTlsCert}. */
  temporalTlsKey: z.string().min(1).optional(),
  /** Name to verify the server certificate against (and send as SNI) instead of the address's host. */
  temporalTlsServerName: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a DNS name').optional(),
  /** File holding the API key sent as `authorization: Bearer <key>` (hosted Temporal); implies TLS. */
  temporalApiKeyFile: z.string().min(1).optional(),
  /**
   * host:port of the frontend's HTTP API (grpc-gateway), with the same TLS
   * and API key as {@link temporalAddress}; the CLI's reads use it instead of
   * loading the gRPC client. The local stack records its own in stack.json.
   */
  temporalHttpAddress: z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port').optional(),
  /** `false` puts the CLI's reads on the SDK's gRPC client: no HTTP API for the lists, no lean gRPC reader for `show` and `audit`. */
  temporalHttp: bool.default(true),
  namespace: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, . _ -').default('runbooks'),
  taskQueue: z.string().min(1).max(128).default('runbooks'),
  /** One nats:// (or tls://) URL, or a comma-separated list of them (the nodes of a cluster); clients fail over between them. */
  natsUrl: z
    .string()
    .superRefine((value, ctx) => {
      natsServerList(value).forEach((entry, i, all) => {
        if (!NATS_URL.test(entry)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `entry ${i + 1} of ${all.length} (${JSON.stringify(entry)}) must be a nats:// or tls:// URL` });
      });
    })
    .optional(),
  /** A NATS .creds file (JWT + nkey seed); wins over user and password. */
  natsCreds: z.string().min(1).optional(),
  /** NATS user name; needs {@link natsPasswordFile}. Without both, a process uses its role's file in the state directory. */
  natsUser: z.string().min(1).max(256).regex(/^[^\s]+$/, 'must have no white space').optional(),
  /** File holding the NATS user's password. */
  natsPasswordFile: z.string().min(1).optional(),
  /** CA certificate (PEM) the NATS server's certificate is checked against; turns TLS on. */
  natsTlsCa: z.string().min(1).optional(),
  /** Client certificate (PEM) for mutual TLS; needs {@link natsTlsKey}. */
  natsTlsCert: z.string().min(1).optional(),
  /** Client certificate's private key (PEM). */
  natsTlsKey: z.string().min(1).optional(),
  /** Copies of every stream and KV bucket provisioning keeps (3 on a three-node cluster); see natsReplicasFor. */
  natsReplicas: z.coerce.number().int().min(1).max(5).optional(),
  mode: z.enum(['development', 'production']).default('development'),
  workflowBundle: z.string().min(1).optional(),
  runbooksDir: z.string().min(1).default('runbooks'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  temporalPort: port.default(7233),
  temporalUiPort: port.default(8233),
  /** The local stack's Temporal HTTP API port; a free one when unset. */
  temporalHttpPort: port.optional(),
  /** Where the console links incidents in the Temporal Web UI; in development, the local stack's UI port on loopback. */
  temporalUiUrl: z.url().optional(),
  natsPort: port.default(4222),
  natsMonitorPort: port.default(8222),
  /** First route port of the cluster stack's NATS nodes (each node takes the next). */
  natsClusterPort: port.default(6222),
  intakePort: port.default(9110),
  workerMetricsPort: port.default(9111),
  apiPort: port.default(9120),
  /** PostgreSQL of `runbook up --cluster`; not 5432, so a system PostgreSQL is left alone. */
  postgresPort: port.default(15432),
  intakeConcurrency: z.coerce.number().int().min(1).max(1024).default(32),
  dryRun: bool.default(false),
  /** YAML or JSON file with the Alertmanager label mapping; the built-in mapping when unset. */
  alertmanagerMappingFile: z.string().min(1).optional(),
  servicesFile: z.string().min(1).default('services.yaml'),
  /** Backup repositories the worker watches for freshness (config/backups.ts); none when the file does not exist. */
  backupsFile: z.string().min(1).default('backups.yaml'),
  /** Directories the worker keeps copied to a replica (config/replication.ts); none when the file does not exist. */
  replicationFile: z.string().min(1).default('replication.yaml'),
  /** Per-service availability objectives `runbook report` and the worker's gauges grade against (config/objectives.ts); none when the file does not exist. */
  objectivesFile: z.string().min(1).default('objectives.yaml'),
  /** How often the worker recomputes its availability gauges from the audit stream; 0 turns them off. */
  reportRefreshMs: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
  /** Fault injection for crash tests only: the intake waits for `<dir>/release` before each ack. Never set in production. */
  intakeAckGateDir: z.string().min(1).optional(),
  /** Deliveries of one fault message before it is dead-lettered; more than the 4 redelivery backoff steps, as the server requires. The intake's default when unset. */
  intakeMaxDeliver: z.coerce.number().int().min(5, 'must be at least 5 (more than the 4 redelivery backoff steps)').max(100_000).optional(),
  /** First nak delay for a message the intake could not hand on, doubling per delivery. The intake's default when unset. */
  intakeNakBaseMs: z.coerce.number().int().min(1).max(3_600_000).optional(),
  /** Longest nak delay. The intake's default when unset. */
  intakeNakMaxMs: z.coerce.number().int().min(1).max(3_600_000).optional(),
  /**
   * `required`: the Alertmanager receiver takes only requests with a configured
   * credential, and refuses every request while none is configured. `none`
   * turns authentication off: anyone who can reach the port can open incidents
   * (unsafe; for a receiver behind an authenticating proxy only).
   */
  intakeWebhookAuth: z.enum(['required', 'none']).default('required'),
  /** File holding the bearer token Alertmanager presents (`http_config.authorization.credentials_file`). */
  intakeWebhookTokenFile: z.string().min(1).optional(),
  /** User name for HTTP basic auth on the receiver; needs {@link intakeWebhookBasicPasswordFile}. */
  intakeWebhookBasicUser: z.string().min(1).max(256).regex(/^[^:\s]+$/, 'must have no colon or white space').optional(),
  /** File holding the basic-auth password (`http_config.basic_auth.password_file`). */
  intakeWebhookBasicPasswordFile: z.string().min(1).optional(),
  /** Requests one client address may send the receiver at once. */
  intakeWebhookBurst: z.coerce.number().int().min(1).max(100_000).default(60),
  /** Requests per second one client address may sustain on the receiver. */
  intakeWebhookRatePerSecond: z.coerce.number().positive().max(100_000).default(10),
  /** Failed authentications one client address may have per minute at the approval API before it gets 429. */
  apiAuthFailuresPerMinute: z.coerce.number().int().min(1).max(100_000).default(10),
  /** On-call groups, their members and escalation chains; without it approval groups are not checked against members. */
  rosterFile: z.string().min(1).optional(),
  /** Bearer tokens of the approval API (sha256 hashes → identity). */
  tokensFile: z.string().min(1).optional(),
  /** Base URL of the approval API for the CLI; default http://127.0.0.1:<apiPort>. */
  apiUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL').optional(),
  /** Bearer token the CLI presents to the approval API. */
  apiToken: z.string().min(1).optional(),
  /** How long an incident without a runbook stays open after its last fault; the workflow's default (24h) when unset. */
  quietPeriod: z.string().regex(DURATION_PATTERN, 'must be a duration like 30m or 24h').optional(),
  /** The decision key the approval API signs decisions with and the worker verifies them with; default `<stateDir>/decision.key`. */
  decisionKeyFile: z.string().min(1).optional(),
  /** Base URL of the console that notices link to (`<url>/#/incidents/<id>`); default http://127.0.0.1:<apiPort>. */
  consoleUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL').optional(),
  /** File holding the PagerDuty Events API v2 routing key; setting it turns paging on. Read by the worker at every notice. */
  pagerdutyRoutingKeyFile: z.string().min(1).optional(),
  /** Where PagerDuty events are posted. */
  pagerdutyEventsUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL').default('https://events.pagerduty.com/v2/enqueue'),
});
export type Config = Omit<z.infer<typeof Config>, 'temporalTls'> & { temporalAddress: string; natsUrl: string; temporalTls: boolean; consoleUrl: string };

/** A configuration value that could not be used; names the variable or flag. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Resolves configuration once per process: explicit options > environment > defaults.
 * Throws a ConfigError naming each offending variable (or flag, when the value came from one).
 */
export function loadConfig(
  explicit: Partial<Record<ConfigKey, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const key of Object.keys(ENV) as ConfigKey[]) {
    const given = explicit[key];
    if (given !== undefined) {
      raw[key] = given;
      origin[key] = `--${kebab(key)}`;
    } else if (env[ENV[key]] !== undefined && env[ENV[key]] !== '') {
      raw[key] = env[ENV[key]];
      origin[key] = ENV[key];
    }
  }
  const parsed = Config.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const name = origin[key] ?? ENV[key as ConfigKey] ?? key;
      return `${name}: ${issue.message} (got ${JSON.stringify(raw[key])})`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  const temporalSecurity = resolveTemporalSecurity(c, (key) => origin[key] ?? ENV[key]);
  if (temporalSecurity.problems.length > 0) throw new ConfigError(`invalid configuration: ${temporalSecurity.problems.join('; ')}`);
  return {
    ...c,
    temporalTls: temporalSecurity.tls,
    temporalAddress: c.temporalAddress ?? `127.0.0.1:${c.temporalPort}`,
    natsUrl: c.natsUrl ?? `nats://127.0.0.1:${c.natsPort}`,
    consoleUrl: c.consoleUrl ?? `http://127.0.0.1:${c.apiPort}`,
  };
}

/**
 * The replica count provisioning uses: RUNBOOK_NATS_REPLICAS, or else 1 for
 * one server and 3 for a list of three or more (a cluster).
 */
export function natsReplicasFor(config: Pick<Config, 'natsReplicas' | 'natsUrl'>): number {
  return config.natsReplicas ?? (natsServerList(config.natsUrl).length >= 3 ? 3 : 1);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
