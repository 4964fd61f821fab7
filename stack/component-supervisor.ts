import type { Logger } from '../observability/logger';
import type { ManagedProcess } from './managed-process';
import { decideRestart, emptyHistory, type RestartPolicy } from './restart-policy';
import type { ComponentExit, ComponentState } from './stack-file';

/** Starts a component again; calls `onSpawn` as soon as the process exists, resolves once it is healthy. */
export type Respawn = (onSpawn: (proc: ManagedProcess) => void) => Promise<ManagedProcess>;

/** What the supervisor knows about one component, published after every change. */
export interface ComponentStatus {
  name: string;
  state: ComponentState;
  proc: ManagedProcess;
  restarts: number;
  lastExit?: ComponentExit;
}

/** Options for {@link superviseComponent}. */
export interface SuperviseOptions {
  /** The healthy process the stack started. */
  first: ManagedProcess;
  respawn: Respawn;
  policy: RestartPolicy;
  logger: Logger;
  /** Called on every change of state or process, synchronously. */
  onChange: (status: ComponentStatus) => void;
  now?: () => number;
}

/** A component under supervision. */
export interface SupervisedComponent {
  status(): ComponentStatus;
  /** Ends supervision: no further restart starts; the caller stops the current process. */
  halt(): void;
}

/**
 * Watches one component and restarts it with backoff whenever its process
 * ends on its own, until it crash-loops past the policy, when it is marked
 * failed and left stopped while the rest of the stack runs on.
 */
export function superviseComponent(opts: SuperviseOptions): SupervisedComponent {
  const now = opts.now ?? Date.now;
  const name = opts.first.name;
  const log = opts.logger.child({ component: name });
  let halted = false;
  let wakeFromBackoff: () => void = () => undefined;
  let history = emptyHistory();
  const status: ComponentStatus = { name, state: 'running', proc: opts.first, restarts: 0 };
  const publish = (): void => opts.onChange({ ...status });

  const loop = async (): Promise<void> => {
    let healthySince: number | undefined = now();
    for (;;) {
      const { code, signal } = await status.proc.exited;
      if (halted) return;
      status.lastExit = { code, signal, at: new Date(now()).toISOString() };
      const { decision, history: next } = decideRestart(opts.policy, history, now(), healthySince);
      history = next;
      const exitText = signal ? `signal ${signal}` : `code ${code}`;
      if (decision.action === 'give-up') {
        status.state = 'failed';
        log.error('component keeps crashing; giving up on it, the rest of the stack keeps running', { code, signal, restartsInWindow: decision.restartsInWindow, windowMs: opts.policy.windowMs, logFile: status.proc.logFile });
        publish();
        return;
      }
      status.state = 'restarting';
      status.restarts += 1;
      log.warn(`component exited (${exitText}); restarting`, { code, signal, restart: status.restarts, delayMs: decision.delayMs, logFile: status.proc.logFile });
      publish();
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, decision.delayMs);
        wakeFromBackoff = () => {
          clearTimeout(timer);
          wake();
        };
      });
      if (halted) return;
      healthySince = undefined;
      try {
        await opts.respawn((proc) => {
          status.proc = proc;
          status.state = 'starting';
          publish();
        });
        if (halted) return;
        healthySince = now();
        status.state = 'running';
        log.info('component restarted and healthy', { pid: status.proc.pid, restart: status.restarts });
        publish();
      } catch (err) {
        // A start that never got healthy counts as one more crash; the respawn has stopped what it started.
        if (halted) return;
        log.warn('component did not come back healthy', { err });
      }
    }
  };
  void loop().catch((err: unknown) => log.error('supervision of the component ended unexpectedly', { err }));

  return {
    status: () => ({ ...status }),
    halt() {
      halted = true;
      wakeFromBackoff();
    },
  };
}
