import { join, resolve } from 'node:path';
import { freePorts } from '../stack/ports';

/** Service name of the demo fleet: the HAProxy backend and the `service` of its faults. */
export const DEMO_SERVICE = 'demo';
/** HAProxy server names, which are also the faults' targets. */
export const PRIMARY = 'primary';
export const STANDBY = 'standby';
/** Supervisor program names in the demo's services file. */
export const PRIMARY_PROGRAM = PRIMARY;
export const STANDBY_PROGRAM = 'demo-standby';
/** Target of the demo's backup faults: its own incident, apart from the primary's. */
export const BACKUP_TARGET = 'primary-backups';
/** Target of the demo's replication faults: the standby's copy of the primary's data. */
export const REPLICATION_TARGET = 'standby-replica';
/**
 * Task queue of the demo's own worker. Fixed, so the service guard workflow
 * that keeps the demo's blast-radius budget is served again by the next run.
 */
export const DEMO_TASK_QUEUE = 'runbook-demo';

/** Loopback ports of one demo run. */
export interface DemoPorts {
  frontend: number;
  primary: number;
  standby: number;
  /** HAProxy runtime API (`stats socket ipv4@`). */
  haproxyAdmin: number;
  /** The demo worker's /healthz and /metrics. */
  workerMetrics: number;
}

/** Where one demo run keeps everything; all paths absolute. */
export interface DemoLayout {
  dir: string;
  ports: DemoPorts;
  haproxyConfig: string;
  haproxyLog: string;
  servicesFile: string;
  runbooksDir: string;
  runbookFile: string;
  primaryDataDir: string;
  standbyDataDir: string;
  /** The backup repository of the primary's data, watched through `backupsFile`. */
  backupRepository: string;
  backupsFile: string;
  backupRunbookFile: string;
  /** The standby's data following the primary's (a hot standby only). */
  replicationFile: string;
  replicationRunbookFile: string;
  runDir: string;
  logDir: string;
  /** The model server bundled into one JavaScript file, so an instance starts without tsx. */
  modelServerScript: string;
  /** `tcp://127.0.0.1:PORT` for the HAProxy adapter. */
  haproxySocket: string;
  frontendUrl: string;
  primaryHealthUrl: string;
  standbyHealthUrl: string;
}

/** The layout of a demo run in `dir` (usually `<stateDir>/demo`). */
export function demoLayout(dir: string, ports: DemoPorts): DemoLayout {
  const root = resolve(dir);
  return {
    dir: root,
    ports,
    haproxyConfig: join(root, 'haproxy.cfg'),
    haproxyLog: join(root, 'logs', 'haproxy.log'),
    servicesFile: join(root, 'services.yaml'),
    runbooksDir: join(root, 'runbooks'),
    runbookFile: join(root, 'runbooks', 'demo-failover.yaml'),
    primaryDataDir: join(root, 'data', PRIMARY),
    standbyDataDir: join(root, 'data', STANDBY),
    backupRepository: join(root, 'backups', PRIMARY),
    backupsFile: join(root, 'backups.yaml'),
    backupRunbookFile: join(root, 'runbooks', 'demo-backup.yaml'),
    replicationFile: join(root, 'replication.yaml'),
    replicationRunbookFile: join(root, 'runbooks', 'demo-replication.yaml'),
    runDir: join(root, 'run'),
    logDir: join(root, 'logs'),
    modelServerScript: join(root, 'bin', 'model-server.js'),
    haproxySocket: `tcp://127.0.0.1:${ports.haproxyAdmin}`,
    frontendUrl: `http://127.0.0.1:${ports.frontend}`,
    primaryHealthUrl: `http://127.0.0.1:${ports.primary}/health`,
    standbyHealthUrl: `http://127.0.0.1:${ports.standby}/health`,
  };
}

/** Free loopback ports for a demo run. */
export async function pickDemoPorts(): Promise<DemoPorts> {
  const [frontend, primary, standby, haproxyAdmin, workerMetrics] = (await freePorts(5)) as [number, number, number, number, number];
  return { frontend, primary, standby, haproxyAdmin, workerMetrics };
}
