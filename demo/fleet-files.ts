import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { build } from 'esbuild';
import { parseDocument, stringify } from 'yaml';
import { BackupsFile } from '../schemas/backup-spec';
import { ReplicationFile } from '../schemas/replication-spec';
import type { ServicesFile } from '../schemas/service-spec';
import { formatRunbookErrors, loadRunbookText } from '../engine/load-runbook';
import { PROJECT_ROOT } from '../stack/toolchain';
import { BACKUP_TARGET, DEMO_SERVICE, PRIMARY, PRIMARY_PROGRAM, REPLICATION_TARGET, STANDBY, STANDBY_PROGRAM, type DemoLayout } from './layout';
import { MODEL_FILE, type Model } from './model-server';

/** The demo runbook as shipped; each run writes a copy with its own params. */
export const DEMO_RUNBOOK_TEMPLATE = join(PROJECT_ROOT, 'demo', 'demo-failover.yaml');

/** The demo's backup runbook as shipped; a run with backups writes a copy with its own params. */
export const DEMO_BACKUP_RUNBOOK_TEMPLATE = join(PROJECT_ROOT, 'demo', 'demo-backup.yaml');

/** The demo's replication runbook; a run with a hot standby writes a copy with its own params. */
export const DEMO_REPLICATION_RUNBOOK_TEMPLATE = join(PROJECT_ROOT, 'demo', 'demo-replication.yaml');

/** How old the demo's newest verified backup may be before its freshness watch raises backup_stale. */
export const DEMO_BACKUP_MAX_AGE = '1h';

/** The model server's source; each run bundles it to plain JavaScript. */
export const MODEL_SERVER_SOURCE = join(PROJECT_ROOT, 'demo', 'model-server.ts');

/** A demo file that could not be written as valid configuration. */
export class DemoSetupError extends Error {
  override name = 'DemoSetupError';
}

/**
 * How the demo's standby waits: `hot` runs and is health-checked as HAProxy's
 * `backup` server, so HAProxy moves requests to it the moment the primary
 * fails; `cold` is not running and sits in maintenance until the runbook
 * starts it and puts it in rotation, for services that cannot run two copies
 * at once.
 */
export type StandbyMode = 'hot' | 'cold';
export const STANDBY_MODES: readonly StandbyMode[] = ['hot', 'cold'];

/**
 * HAProxy in front of the two instances; docs/load-balancer.md explains each
 * setting. A request that meets a refused connection, an empty answer or no
 * answer within `timeout server` is retried, each retry redispatched, and
 * the passive `observe layer7` check marks a refusing primary down at its
 * first failure, so the retry lands on the backup. Active checks every
 * 250 ms (100 ms once one failed) mark a hung primary down within about
 * 0.8 s, inside the 5 × 250 ms a request may spend on retries. Only GET, HEAD
 * and OPTIONS are retried after they reached a server. The standby is put in
 * maintenance through the runtime API rather than with `disabled`, whose
 * flag `set server ... state ready` does not clear.
 */
export function renderHaproxyConfig(layout: DemoLayout): string {
  const { ports } = layout;
  return [
    'global',
    `    stats socket ipv4@127.0.0.1:${ports.haproxyAdmin} level admin`,
    '    maxconn 512',
    'defaults',
    '    mode http',
    '    timeout connect 100ms',
    '    timeout client 10s',
    '    timeout server 250ms',
    '    timeout check 200ms',
    '    retries 4',
    '    option redispatch 1',
    '    retry-on conn-failure empty-response response-timeout',
    'frontend fe_demo',
    `    bind 127.0.0.1:${ports.frontend}`,
    `    default_backend ${DEMO_SERVICE}`,
    `backend ${DEMO_SERVICE}`,
    '    balance roundrobin',
    '    option httpchk GET /health',
    '    http-request disable-l7-retry unless { method GET HEAD OPTIONS }',
    '    default-server inter 250ms fastinter 100ms fall 2 rise 2 slowstart 2s observe layer7 error-limit 1 on-error mark-down',
    `    server ${PRIMARY} 127.0.0.1:${ports.primary} check`,
    `    server ${STANDBY} 127.0.0.1:${ports.standby} check backup`,
    '',
  ].join('\n');
}

function modelServerEntry(layout: DemoLayout, name: string, port: number, dataDir: string, healthUrl: string): ServicesFile[string] {
  return {
    argv: [process.execPath, layout.modelServerScript, '--name', name, '--port', String(port), '--data-dir', dataDir],
    cwd: layout.dir,
    pidFile: join(layout.runDir, `${name}.pid`),
    logFile: join(layout.logDir, `${name}.log`),
    health: { kind: 'http', url: healthUrl, timeoutMs: 1000 },
    startTimeoutMs: 15_000,
    stopGraceMs: 3_000,
  };
}

/**
 * Bundles the model server and its dependencies into one CommonJS file. Plain
 * node starts it in about a third of the time node with tsx takes (roughly
 * 0.1 s against 0.35 s here), and starting the standby is on the path to
 * traffic restored.
 */
export async function bundleModelServer(outfile: string): Promise<void> {
  await mkdir(dirname(outfile), { recursive: true });
  await build({ entryPoints: [MODEL_SERVER_SOURCE], outfile, bundle: true, platform: 'node', format: 'cjs', target: `node${process.versions.node}`, logLevel: 'silent' });
}

/** The services file the demo worker's supervisor actions use. */
export function servicesFileFor(layout: DemoLayout): ServicesFile {
  return {
    [PRIMARY_PROGRAM]: modelServerEntry(layout, PRIMARY, layout.ports.primary, layout.primaryDataDir, layout.primaryHealthUrl),
    [STANDBY_PROGRAM]: modelServerEntry(layout, STANDBY, layout.ports.standby, layout.standbyDataDir, layout.standbyHealthUrl),
  };
}

/** A shipped demo runbook with `params` set, checked as the intake would load it. */
async function renderRunbook(template: string, file: string, params: Record<string, string>): Promise<string> {
  const doc = parseDocument(await readFile(template, 'utf8'));
  for (const [key, value] of Object.entries(params)) doc.setIn(['params', key], value);
  const text = doc.toString();
  const loaded = loadRunbookText(text, file);
  if (!loaded.ok) throw new DemoSetupError(`the demo runbook is invalid:\n${formatRunbookErrors(loaded.errors)}`);
  return text;
}

/** The demo backup runbook with this run's directories. */
export function renderDemoBackupRunbook(layout: DemoLayout): Promise<string> {
  return renderRunbook(DEMO_BACKUP_RUNBOOK_TEMPLATE, layout.backupRunbookFile, { data_dir: layout.primaryDataDir, backup_repository: layout.backupRepository });
}

/** The backups file of the demo worker: the primary's repository, looked at every second. */
export function backupsFileFor(layout: DemoLayout): BackupsFile {
  return BackupsFile.parse({
    [PRIMARY]: { repository: layout.backupRepository, service: DEMO_SERVICE, target: BACKUP_TARGET, max_age: DEMO_BACKUP_MAX_AGE, check_every: '1s' },
  });
}

/** The demo replication runbook with this run's directories. */
export function renderDemoReplicationRunbook(layout: DemoLayout): Promise<string> {
  return renderRunbook(DEMO_REPLICATION_RUNBOOK_TEMPLATE, layout.replicationRunbookFile, { source_dir: layout.primaryDataDir, replica_dir: layout.standbyDataDir });
}

/**
 * The replication file of the demo worker: the hot standby's data follows the
 * primary's every second, and stops while HAProxy has the primary down or
 * fenced, since the standby then serves.
 */
export function replicationFileFor(layout: DemoLayout): ReplicationFile {
  return ReplicationFile.parse({
    [PRIMARY]: {
      source: layout.primaryDataDir,
      replica: layout.standbyDataDir,
      service: DEMO_SERVICE,
      target: REPLICATION_TARGET,
      interval: '1s',
      max_lag: '30s',
      fence: { haproxy: { socket: layout.haproxySocket, backend: DEMO_SERVICE, server: PRIMARY } },
    },
  });
}

/** The demo runbook with this run's params, checked as the intake would load it. */
export async function renderDemoRunbook(layout: DemoLayout): Promise<string> {
  const params: Record<string, string> = {
    haproxy_socket: layout.haproxySocket,
    primary_health_url: layout.primaryHealthUrl,
    lb_health_url: `${layout.frontendUrl}/health`,
    lb_url: layout.frontendUrl,
    primary_data_dir: layout.primaryDataDir,
    standby_data_dir: layout.standbyDataDir,
    standby_service: STANDBY_PROGRAM,
    standby_server: STANDBY,
    backup_repository: layout.backupRepository,
  };
  return renderRunbook(DEMO_RUNBOOK_TEMPLATE, layout.runbookFile, params);
}

/** The model the primary serves, and an older one a cold standby starts with. */
function models(): { current: Model; stale: Model } {
  return {
    current: { version: 2, bias: 0.5, weights: [1.25, -0.1, 0.02] },
    stale: { version: 1, bias: 0, weights: [1] },
  };
}

/** Options of writeFleetFiles. */
export interface FleetFileOptions {
  /** How the standby waits. @default 'hot' */
  standby?: StandbyMode;
  /** Also write the backup runbook and the backups file, so the demo worker watches and takes backups. */
  backups?: boolean;
}

/**
 * Writes everything a demo run needs into its directory, replacing what an
 * earlier run left: data directories, the bundled model server, services
 * file, runbooks, HAProxy config, with a hot standby the replication file
 * and, with backups, the backups file. A hot
 * standby serves from the start, so its data is the primary's (what
 * replication keeps it at); a cold one starts a model version behind. Both
 * hold a leftover file the runbook's resync removes.
 */
export async function writeFleetFiles(layout: DemoLayout, opts: FleetFileOptions = {}): Promise<void> {
  const standby = opts.standby ?? 'hot';
  await rm(layout.dir, { recursive: true, force: true });
  for (const dir of [layout.primaryDataDir, layout.standbyDataDir, layout.runbooksDir, layout.runDir, layout.logDir]) {
    await mkdir(dir, { recursive: true });
  }
  const { current, stale } = models();
  await writeFile(join(layout.primaryDataDir, MODEL_FILE), `${JSON.stringify(current, null, 2)}\n`);
  await writeFile(join(layout.primaryDataDir, 'features.csv'), ['feature,mean,std', 'x,0.0,1.0', 'x2,1.0,1.4', 'x3,0.0,3.9', ''].join('\n'));
  await writeFile(join(layout.standbyDataDir, MODEL_FILE), `${JSON.stringify(standby === 'hot' ? current : stale, null, 2)}\n`);
  await writeFile(join(layout.standbyDataDir, 'retired-model.json'), `${JSON.stringify(stale)}\n`);
  await bundleModelServer(layout.modelServerScript);
  await writeFile(layout.servicesFile, stringify(servicesFileFor(layout)));
  await writeFile(layout.runbookFile, await renderDemoRunbook(layout));
  await writeFile(layout.haproxyConfig, renderHaproxyConfig(layout));
  if (standby === 'hot') {
    await writeFile(layout.replicationRunbookFile, await renderDemoReplicationRunbook(layout));
    await writeFile(layout.replicationFile, stringify(replicationFileFor(layout)));
  }
  if (opts.backups) {
    await writeFile(layout.backupRunbookFile, await renderDemoBackupRunbook(layout));
    await writeFile(layout.backupsFile, stringify(backupsFileFor(layout)));
  }
}

/** Relative path → SHA-256 of every file under `dir`, for comparing two data directories. */
export async function checksumTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (current: string): Promise<void> => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out[relative(dir, full)] = createHash('sha256').update(await readFile(full)).digest('hex');
    }
  };
  await walk(dir);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** Whether the two data directories hold the same files with the same contents. */
export async function dataIdentical(a: string, b: string): Promise<{ identical: boolean; files: number; digest: string }> {
  const [left, right] = await Promise.all([checksumTree(a), checksumTree(b)]);
  const digest = (tree: Record<string, string>): string => createHash('sha256').update(JSON.stringify(tree)).digest('hex');
  return { identical: digest(left) === digest(right), files: Object.keys(left).length, digest: digest(left).slice(0, 12) };
}
