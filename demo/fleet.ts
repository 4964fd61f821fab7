import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import net from 'node:net';
import { ENV } from '../config/config';
import { getServerState, setServerState, type ServerStatus } from '../activities/adapters/haproxy';
import { startService, stopService } from '../activities/adapters/process-supervisor';
import type { ServiceSpec } from '../schemas/service-spec';
import { startManagedProcess, type ManagedProcess } from '../stack/managed-process';
import { waitFor } from '../stack/wait-for';
import { servicesFileFor, writeFleetFiles, type StandbyMode } from './fleet-files';
import { DEMO_SERVICE, PRIMARY, PRIMARY_PROGRAM, STANDBY, STANDBY_PROGRAM, type DemoLayout } from './layout';

/** @default '/usr/sbin/haproxy' */
export const DEFAULT_HAPROXY_PATH = '/usr/sbin/haproxy';

/** A running demo fleet: HAProxy, the primary, and the standby (a cold one once promoted). */
export interface Fleet {
  layout: DemoLayout;
  standby: StandbyMode;
  haproxy: ManagedProcess;
  /** The pid the primary's pidfile names now, or null. */
  primaryPid(): Promise<number | null>;
  /** Sends a signal to the primary's process (the fault injection of the scenarios). */
  signalPrimary(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<number>;
  /** HAProxy's view of one demo server. */
  server(name: string): Promise<ServerStatus>;
  /** Stops HAProxy and both instances; safe to call twice. */
  stop(): Promise<void>;
}

function specOf(layout: DemoLayout, program: string): ServiceSpec {
  const entry = servicesFileFor(layout)[program];
  if (!entry) throw new Error(`no demo program ${program}`);
  const { startTimeoutMs: _start, stopGraceMs: _stop, ...spec } = entry;
  return { name: program, ...spec };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function readPid(pidFile: string): Promise<number | null> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/**
 * Writes the demo's files, starts the primary (and a hot standby) through the
 * same supervisor the runbook uses (so its restart finds it by pidfile), then
 * HAProxy, and waits until HAProxy sees them up; a cold standby is put in
 * maintenance instead. On failure it stops what it started.
 */
export async function startFleet(layout: DemoLayout, opts: { haproxyPath?: string; standby?: StandbyMode; backups?: boolean } = {}): Promise<Fleet> {
  const mode = opts.standby ?? 'hot';
  await writeFleetFiles(layout, { standby: mode, backups: opts.backups === true });
  const primary = specOf(layout, PRIMARY_PROGRAM);
  const standby = specOf(layout, STANDBY_PROGRAM);
  let haproxy: ManagedProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await haproxy?.stop(3_000);
    // A stopped (SIGSTOP) instance must be continued to act on SIGTERM; stopService does that.
    await Promise.all([stopService(primary, { dryRun: false, graceMs: 2_000 }), stopService(standby, { dryRun: false, graceMs: 2_000 })]);
  };
  const server = (name: string): Promise<ServerStatus> => getServerState({ socket: layout.haproxySocket, backend: DEMO_SERVICE, server: name });
  try {
    await startService(primary, { dryRun: false, startTimeoutMs: 15_000 });
    if (mode === 'hot') await startService(standby, { dryRun: false, startTimeoutMs: 15_000 });
    const proc = startManagedProcess({ name: 'haproxy', argv: [opts.haproxyPath ?? DEFAULT_HAPROXY_PATH, '-db', '-f', layout.haproxyConfig], logFile: layout.haproxyLog });
    haproxy = proc;
    await waitFor('HAProxy to listen', 10_000, async () => {
      if (!proc.isRunning()) throw new Error(`haproxy exited during start-up; see ${layout.haproxyLog}`);
      return (await canConnect(layout.ports.haproxyAdmin)) && (await canConnect(layout.ports.frontend));
    });
    if (mode === 'cold') await setServerState({ socket: layout.haproxySocket, backend: DEMO_SERVICE, server: STANDBY, state: 'maint', dryRun: false });
    await waitFor('HAProxy to see the primary up', 15_000, async () => (await server(PRIMARY)).operational === 'up', 200);
    if (mode === 'hot') await waitFor('HAProxy to see the hot standby up', 15_000, async () => (await server(STANDBY)).operational === 'up', 200);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    layout,
    standby: mode,
    haproxy,
    primaryPid: () => readPid(primary.pidFile),
    async signalPrimary(signal) {
      const pid = await readPid(primary.pidFile);
      if (pid === null) throw new Error('the primary is not running');
      process.kill(pid, signal);
      return pid;
    },
    server,
    stop,
  };
}

/** HAProxy state of both demo servers, for reports and waits. */
export async function fleetServers(fleet: Fleet): Promise<Record<string, ServerStatus>> {
  const [p, s] = await Promise.all([fleet.server(PRIMARY), fleet.server(STANDBY)]);
  return { [PRIMARY]: p, [STANDBY]: s };
}

/**
 * Live processes of a demo run in `dir`, e.g. one left by an interrupted
 * demo: HAProxy and the instances name the directory on their command line,
 * the demo worker in its services-file variable. Only processes this user
 * may read are seen.
 */
export function processesUsing(dir: string): number[] {
  const marker = `${ENV.servicesFile}=${dir}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8');
      const environ = readFileSync(join('/proc', entry, 'environ'), 'utf8').split('\0');
      if (cmdline.includes(dir) || environ.some((v) => v.startsWith(marker))) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}
