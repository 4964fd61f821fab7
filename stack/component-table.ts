import type { Logger } from '../observability/logger';
import { superviseComponent, type ComponentStatus, type Respawn, type SupervisedComponent } from './component-supervisor';
import type { ManagedProcess } from './managed-process';
import { processStartTime } from './process-identity';
import type { RestartPolicy } from './restart-policy';
import { writeStackFile, type HealthCheck, type StackInfo } from './stack-file';

/** What the table knows of a component before its process exists. */
export interface ComponentSlot {
  name: string;
  port?: number;
  health?: HealthCheck;
}

/** The processes of a stack, each in its slot of stack.json, supervised once the stack is up. */
export interface ComponentTable {
  /** The current process of each component; a restart replaces its entry. */
  processes: ManagedProcess[];
  /** Puts a component's current process in its slot and in stack.json. */
  place(proc: ManagedProcess, status?: ComponentStatus): void;
  /** Marks a started component running and restarts it with `policy` whenever it dies on its own. */
  supervise(first: ManagedProcess, respawn: Respawn, policy: RestartPolicy, logger: Logger): void;
  /** Ends supervision and stops every process, newest first; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * A table over `info.components` whose records keep the order of `slots`
 * (status lists them so), each with its port and health check.
 */
export function componentTable(info: StackInfo, slots: ComponentSlot[]): ComponentTable {
  const processes: ManagedProcess[] = [];
  const supervisors: SupervisedComponent[] = [];
  const order = slots.map((s) => s.name);
  const place = (proc: ManagedProcess, status?: ComponentStatus): void => {
    const at = processes.findIndex((p) => p.name === proc.name);
    if (at === -1) processes.push(proc);
    else processes[at] = proc;
    const slot = slots.find((s) => s.name === proc.name);
    const before = info.components[proc.name];
    const startTime = before?.pid === proc.pid ? before.startTime : processStartTime(proc.pid);
    const records = {
      ...info.components,
      [proc.name]: {
        pid: proc.pid,
        ...(startTime ? { startTime } : {}),
        logFile: proc.logFile,
        state: status?.state ?? 'starting',
        restarts: status?.restarts ?? 0,
        ...(status?.lastExit ? { lastExit: status.lastExit } : {}),
        ...(slot?.port !== undefined ? { port: slot.port } : {}),
        ...(slot?.health ? { health: slot.health } : {}),
      },
    };
    const rank = (name: string): number => (order.includes(name) ? order.indexOf(name) : order.length);
    info.components = Object.fromEntries(Object.entries(records).sort(([a], [b]) => rank(a) - rank(b)));
    writeStackFile(info);
  };
  return {
    processes,
    place,
    supervise(first, respawn, policy, logger) {
      supervisors.push(superviseComponent({ first, respawn, policy, logger, onChange: (status) => place(status.proc, status) }));
      place(first, { name: first.name, state: 'running', proc: first, restarts: 0 });
    },
    async stop() {
      for (const s of supervisors) s.halt();
      for (const proc of [...processes].reverse()) await proc.stop();
    },
  };
}
