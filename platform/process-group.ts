/*
 * Signalling a process group. Every child we start runs detached, as the
 * leader of its own group, so one signal to `-pid` reaches whatever it
 * started too. No imports: the local stack uses it as well as the adapters.
 */

/** Options of {@link signalProcessGroup}. */
export interface SignalGroupOptions {
  /**
   * Signal the pid alone when it leads no group (a process we did not start
   * ourselves, e.g. one named by an old pidfile). Off by default: once a group
   * is gone its pid may already belong to someone else.
   */
  orProcess?: boolean;
}

/** Sends `signal` to the group led by `pid`; a group (or process) already gone is not an error. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals, options: SignalGroupOptions = {}): void {
  try {
    process.kill(-pid, signal);
    return;
  } catch {
    if (!options.orProcess) return;
  }
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}
