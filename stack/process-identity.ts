import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * When the process with this pid started, as an opaque string: the start
 * time in clock ticks from /proc/<pid>/stat on Linux, `ps -o lstart=`
 * elsewhere. Together with the pid it names one process for good, since
 * pids are reused but never while in use. Undefined when there is no such
 * process, or only its zombie entry is left (it has exited; its parent just
 * has not reaped it yet).
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // The slice starts at field 3 of stat(5), the state; starttime is field 22.
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return fields[19];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return undefined;
  }
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return out === '' ? undefined : out;
  } catch {
    return undefined;
  }
}

/** True only when `pid` is alive and is the very process that started at `startTime`. */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (startTime === undefined) return false;
  return processStartTime(pid) === startTime;
}
