import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { signalProcessGroup } from '../platform/process-group';

/** Options for a process the stack owns. */
export interface ManagedProcessOptions {
  /** Short component name used in messages. */
  name: string;
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Output goes here, appended, so it survives restarts. */
  logFile: string;
}

/** A child running in its own process group, so stopping it stops everything it started. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) when the process ends, for any reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** SIGTERM the group, then SIGKILL after graceMs. Resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a managed process whose stdout and stderr go to its log file. */
export function startManagedProcess(opts: ManagedProcessOptions): ManagedProcess {
  const [command, ...args] = opts.argv;
  if (!command) throw new Error(`${opts.name}: empty argv`);
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: true,
      shell: false,
    });
  } finally {
    closeSync(fd);
  }
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolveExit({ code, signal });
    });
    child.once('error', () => {
      running = false;
      resolveExit({ code: -1, signal: null });
    });
  });
  const pid = child.pid ?? -1;
  const signalGroup = (signal: NodeJS.Signals): void => signalProcessGroup(pid, signal);
  return {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    isRunning: () => running,
    async stop(graceMs = 10_000) {
      if (!running) {
        signalGroup('SIGKILL');
        return;
      }
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Anything the child left behind in its group goes too.
      signalGroup('SIGKILL');
    },
  };
}
