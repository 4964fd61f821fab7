import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Runs `fn(0..count-1)` with at most `limit` in flight; rejects with the first failure once all settled. */
export async function eachBounded(count: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await fn(i).catch((err: unknown) => {
        firstError ??= err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  if (firstError !== undefined) throw firstError;
}

let clockTicks: number | undefined;

/** User + system CPU seconds of the whole process (all threads), from /proc/<pid>/stat. */
export function readCpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses; fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** CPU time of the whole machine since boot, in clock ticks: busy (user, nice, system, irq, softirq, steal) and total. */
export function readMachineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}
