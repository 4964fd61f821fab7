import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ServiceSpec } from '../../schemas/service-spec';
import { InvalidSpecError, ServiceStartFailedError, TargetNotFoundError, TimeoutError } from './errors';
import { probe, type ProbeResult } from './probe';
import { signalProcessGroup } from '../../platform/process-group';
import { DEFAULT_PATH } from './process-runner';

/** How long startService waits for the service to be healthy. @default 15000 */
export const DEFAULT_START_TIMEOUT_MS = 15_000;
/** Time between SIGTERM and SIGKILL in stopService. @default 10000 */
export const DEFAULT_STOP_GRACE_MS = 10_000;
const POLL_MS = 100;
/** Linux reports process start times in USER_HZ ticks, fixed at 100 for user space. */
const TICKS_PER_SECOND = 100;
/** Slack when comparing a process's start time with its pidfile's mtime (btime has 1 s resolution). */
const START_TIME_SLACK_MS = 2000;

/** What serviceStatus sees. */
export interface ServiceStatus {
  name: string;
  running: boolean;
  pid: number | null;
  /** Kernel state letter from /proc (R, S, D, T...), when running. */
  processState: string | null;
  /** From the health probe when there is one; otherwise running and not stopped. */
  healthy: boolean;
  probe: ProbeResult | null;
}

/** Options of startService and restartService. */
export interface StartOptions {
  dryRun: boolean;
  startTimeoutMs?: number;
}

/** Options of stopService and restartService. */
export interface StopOptions {
  dryRun: boolean;
  graceMs?: number;
}

/** Outcome of startService. */
export type StartResult =
  | { dryRun: false; changed: boolean; pid: number; healthy: true }
  | { dryRun: true; plan: string; running: boolean; pid: number | null };

/** Outcome of stopService. */
export type StopResult =
  | { dryRun: false; changed: boolean; pid: number | null }
  | { dryRun: true; plan: string; running: boolean; pid: number | null };

/** Outcome of restartService. */
export type RestartResult =
  | { dryRun: false; previousPid: number | null; pid: number }
  | { dryRun: true; plan: string; running: boolean; pid: number | null };

interface ProcInfo {
  state: string;
  startedAtMs: number;
}

function parseSpec(input: ServiceSpec): ServiceSpec {
  const parsed = ServiceSpec.safeParse(input);
  if (!parsed.success) throw new InvalidSpecError(`invalid service: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let bootTimeMs: number | undefined;
async function bootTime(): Promise<number> {
  if (bootTimeMs === undefined) {
    const btime = /^btime\s+(\d+)$/m.exec(await readFile('/proc/stat', 'utf8'));
    bootTimeMs = Number(btime?.[1] ?? 0) * 1000;
  }
  return bootTimeMs;
}

/** Reads /proc/<pid>/stat; null when there is no such process. */
async function procInfo(pid: number): Promise<ProcInfo | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses, so fields are counted from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '?';
  const startTicks = Number(fields[19] ?? 0);
  return { state, startedAtMs: (await bootTime()) + (startTicks * 1000) / TICKS_PER_SECOND };
}

function isAlive(info: ProcInfo | null): info is ProcInfo {
  return info !== null && !['Z', 'X', 'x'].includes(info.state);
}

/**
 * The live process named by the pidfile, or null. A process that started
 * after the pidfile was written holds a recycled pid and is not ours.
 */
async function livePid(spec: ServiceSpec): Promise<{ pid: number; info: ProcInfo } | null> {
  let content: string;
  let writtenAtMs: number;
  try {
    [content, writtenAtMs] = await Promise.all([readFile(spec.pidFile, 'utf8'), stat(spec.pidFile).then((s) => s.mtimeMs)]);
  } catch {
    return null;
  }
  const pid = Number(content.trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const info = await procInfo(pid);
  if (!isAlive(info) || info.startedAtMs > writtenAtMs + START_TIME_SLACK_MS) return null;
  return { pid, info };
}

async function checkHealth(spec: ServiceSpec, info: ProcInfo | null): Promise<{ healthy: boolean; probe: ProbeResult | null }> {
  if (!isAlive(info)) return { healthy: false, probe: null };
  if (spec.health === undefined) return { healthy: !['T', 't'].includes(info.state), probe: null };
  const result = await probe(spec.health);
  return { healthy: result.ok, probe: result };
}

/** Whether the service's process is alive, its pid, and whether it is healthy. */
export async function serviceStatus(input: ServiceSpec): Promise<ServiceStatus> {
  const spec = parseSpec(input);
  const live = await livePid(spec);
  const health = await checkHealth(spec, live?.info ?? null);
  return {
    name: spec.name,
    running: live !== null,
    pid: live?.pid ?? null,
    processState: live?.info.state ?? null,
    ...health,
  };
}

const signalGroup = (pid: number, signal: NodeJS.Signals): void => signalProcessGroup(pid, signal, { orProcess: true });

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isAlive(await procInfo(pid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

async function terminate(pid: number, graceMs: number): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  // A stopped process only acts on SIGTERM once continued.
  signalGroup(pid, 'SIGCONT');
  if (await waitGone(pid, graceMs)) return;
  signalGroup(pid, 'SIGKILL');
  if (!(await waitGone(pid, 5000))) throw new TimeoutError(`process ${pid} survived SIGKILL`);
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-5).join(' | ');
  return lines === '' ? '' : `; log tail: ${lines.slice(-600)}`;
}

async function spawnService(spec: ServiceSpec): Promise<number> {
  await mkdir(path.dirname(spec.pidFile), { recursive: true });
  await mkdir(path.dirname(spec.logFile), { recursive: true });
  const [file, ...args] = spec.argv as [string, ...string[]];
  const logFd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: { PATH: DEFAULT_PATH, ...spec.env },
      stdio: ['ignore', logFd, logFd],
      detached: true,
      shell: false,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (cause) =>
        reject(new ServiceStartFailedError(`cannot start ${spec.name}: ${cause.message}`, { cause })),
      );
    });
    child.unref();
    const pid = child.pid as number;
    const tmp = `${spec.pidFile}.${pid}.tmp`;
    await writeFile(tmp, `${pid}\n`);
    await rename(tmp, spec.pidFile);
    return pid;
  } finally {
    closeSync(logFd);
  }
}

async function waitHealthy(spec: ServiceSpec, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await procInfo(pid);
    if (!isAlive(info)) {
      throw new ServiceStartFailedError(`${spec.name} (pid ${pid}) exited while starting${await logTail(spec.logFile)}`);
    }
    if ((await checkHealth(spec, info)).healthy) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Starts the service unless its pidfile names a live process, then waits
 * until it is healthy. A fresh process that is not healthy by the deadline is
 * stopped again and ServiceStartFailedError is thrown. Idempotent: a
 * running service is left alone.
 */
export async function startService(input: ServiceSpec, options: StartOptions): Promise<StartResult> {
  const spec = parseSpec(input);
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const live = await livePid(spec);
  if (options.dryRun) {
    const plan = live
      ? `${spec.name} is already running as pid ${live.pid}; nothing to start`
      : `would start ${spec.name}: ${spec.argv.map((a) => JSON.stringify(a)).join(' ')}, pidfile ${spec.pidFile}, log ${spec.logFile}`;
    return { dryRun: true, plan, running: live !== null, pid: live?.pid ?? null };
  }
  if (live) {
    if (!(await waitHealthy(spec, live.pid, timeoutMs))) {
      throw new ServiceStartFailedError(`${spec.name} is running as pid ${live.pid} but not healthy after ${timeoutMs} ms`);
    }
    return { dryRun: false, changed: false, pid: live.pid, healthy: true };
  }

  const pid = await spawnService(spec);
  try {
    if (!(await waitHealthy(spec, pid, timeoutMs))) {
      throw new ServiceStartFailedError(`${spec.name} (pid ${pid}) was not healthy within ${timeoutMs} ms${await logTail(spec.logFile)}`);
    }
  } catch (err) {
    await terminate(pid, 2000).catch(() => undefined);
    await rm(spec.pidFile, { force: true });
    throw err;
  }
  return { dryRun: false, changed: true, pid, healthy: true };
}

/**
 * Sends SIGTERM to the service's process group, SIGKILL after the grace
 * period, and removes the pidfile. Nothing running is a no-op (a stale
 * pidfile is still removed).
 */
export async function stopService(input: ServiceSpec, options: StopOptions): Promise<StopResult> {
  const spec = parseSpec(input);
  const graceMs = options.graceMs ?? DEFAULT_STOP_GRACE_MS;
  const live = await livePid(spec);
  if (options.dryRun) {
    const plan = live
      ? `would send SIGTERM to ${spec.name} (process group ${live.pid}), SIGKILL after ${graceMs} ms, and remove ${spec.pidFile}`
      : `${spec.name} is not running; nothing to stop`;
    return { dryRun: true, plan, running: live !== null, pid: live?.pid ?? null };
  }
  if (live) await terminate(live.pid, graceMs);
  await rm(spec.pidFile, { force: true });
  return { dryRun: false, changed: live !== null, pid: live?.pid ?? null };
}

/** Stops the service if it runs, then starts it and waits until healthy. */
export async function restartService(input: ServiceSpec, options: StartOptions & StopOptions): Promise<RestartResult> {
  const spec = parseSpec(input);
  if (options.dryRun) {
    const live = await livePid(spec);
    const plan = [
      live ? `would stop ${spec.name} (pid ${live.pid})` : `${spec.name} is not running`,
      `would start ${spec.name}: ${spec.argv.map((a) => JSON.stringify(a)).join(' ')}`,
    ].join('; then ');
    return { dryRun: true, plan, running: live !== null, pid: live?.pid ?? null };
  }
  const stopped = await stopService(spec, options);
  const started = await startService(spec, options);
  if (started.dryRun) throw new InvalidSpecError('unreachable: start ran as dry-run');
  return { dryRun: false, previousPid: stopped.dryRun ? null : stopped.pid, pid: started.pid };
}

/** What {@link signalService} did. */
export type SignalResult = { dryRun: true; plan: string; pid: number | null } | { dryRun: false; pid: number };

/**
 * Sends `signal` to the process group of the service's live process (a
 * drill's crash or hang). A service that is not running is a
 * TargetNotFound: there is nothing to break, and a drill must not pretend
 * it injected a fault.
 */
export async function signalService(input: ServiceSpec, signal: NodeJS.Signals, dryRun: boolean): Promise<SignalResult> {
  const spec = parseSpec(input);
  const live = await livePid(spec);
  if (dryRun) return { dryRun: true, plan: `send ${signal} to ${spec.name}${live ? ` (pid ${live.pid})` : ' (not running now)'}`, pid: live?.pid ?? null };
  if (live === null) throw new TargetNotFoundError(`${spec.name} is not running: no ${signal} sent`);
  signalGroup(live.pid, signal);
  return { dryRun: false, pid: live.pid };
}
