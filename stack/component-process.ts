import { join } from 'node:path';
import { nodeEntryArgv } from './local-stack';
import { startManagedProcess, type ManagedProcess } from './managed-process';
import { waitFor } from './wait-for';

/** One of our processes started on its own, beside a running stack. */
export interface ComponentProcessOptions {
  /** Name for logs and errors, e.g. "intake-2". */
  name: string;
  /** Entry point relative to the project root, e.g. "workers/intake.ts". */
  entry: string;
  /** Environment pointing it at the stack (see componentEnv). */
  env: NodeJS.ProcessEnv;
  /** Its log goes to `<logDir>/<name>.log`. */
  logDir: string;
  /** Port of its /healthz. */
  healthPort: number;
  /** @default 60 s */
  timeoutMs?: number;
}

/** Starts the process and resolves once its /healthz answers 200; stops it again when it does not. */
export async function startComponentProcess(opts: ComponentProcessOptions): Promise<ManagedProcess> {
  const proc = startManagedProcess({ name: opts.name, argv: nodeEntryArgv(opts.entry), env: opts.env, logFile: join(opts.logDir, `${opts.name}.log`) });
  try {
    await waitFor(`${opts.name} to become healthy`, opts.timeoutMs ?? 60_000, async () => {
      if (!proc.isRunning()) throw new Error(`${opts.name} exited during start-up; see ${proc.logFile}`);
      const res = await fetch(`http://127.0.0.1:${opts.healthPort}/healthz`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      return res?.ok === true;
    }, 200);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return proc;
}
