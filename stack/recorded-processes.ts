import { isSameProcess } from './process-identity';
import { processAlive, type StackInfo } from './stack-file';
import { waitFor, WaitTimeoutError } from './wait-for';

/** A component process named in stack.json that is still the process we started. */
export interface RecordedProcess {
  name: string;
  pid: number;
}

/** True when the supervisor named in the stack file is alive (and, when recorded, is the same process). */
export function supervisorRunning(info: StackInfo): boolean {
  if (info.supervisorStartTime !== undefined) return isSameProcess(info.supervisorPid, info.supervisorStartTime);
  return processAlive(info.supervisorPid);
}

/** Components of the stack file whose recorded process still runs; a pid now used by another process is not listed. */
export function liveComponents(info: StackInfo): RecordedProcess[] {
  return Object.entries(info.components)
    .filter(([, c]) => isSameProcess(c.pid, c.startTime))
    .map(([name, c]) => ({ name, pid: c.pid }));
}

/** "temporal (pid 12), worker (pid 14)" */
export function describeProcesses(procs: RecordedProcess[]): string {
  return procs.map((p) => `${p.name} (pid ${p.pid})`).join(', ');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Each component leads its own process group; the group takes anything it started along.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Outcome of {@link stopRecordedProcesses}. */
export interface StoppedProcesses {
  /** Exited after SIGTERM. */
  stopped: RecordedProcess[];
  /** Needed SIGKILL after the grace period. */
  killed: RecordedProcess[];
}

/**
 * Stops every component process recorded in the stack file that is still
 * ours: SIGTERM, wait until each has exited, SIGKILL whatever is left after
 * `graceMs`. Only a pid whose start time matches the record is signalled, so
 * a pid the system has since given to another process is left alone.
 */
export async function stopRecordedProcesses(info: StackInfo, graceMs = 10_000): Promise<StoppedProcesses> {
  const live = liveComponents(info);
  const startTimes = new Map(Object.entries(info.components).map(([name, c]) => [name, c.startTime]));
  const stillOurs = (p: RecordedProcess): boolean => isSameProcess(p.pid, startTimes.get(p.name));
  // Newest first, as the supervisor stops them: our processes before the servers they use.
  for (const p of [...live].reverse()) signalGroup(p.pid, 'SIGTERM');
  const killed: RecordedProcess[] = [];
  try {
    await waitFor('the stack processes to exit after SIGTERM', graceMs, () => !live.some(stillOurs), 100);
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    for (const p of live.filter(stillOurs)) {
      killed.push(p);
      signalGroup(p.pid, 'SIGKILL');
    }
    await waitFor('the stack processes to exit after SIGKILL', 10_000, () => !live.some(stillOurs), 100);
  }
  return { stopped: live.filter((p) => !killed.includes(p)), killed };
}
