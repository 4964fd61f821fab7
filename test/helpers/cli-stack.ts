import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from '../../config/config';
import { isSameProcess } from '../../stack/process-identity';
import { freeStackPortEnv } from '../../stack/free-stack-ports';
import { readStackFile, type StackInfo } from '../../stack/stack-file';
import { runCli, type CliRun } from './cli';

/** A stack run the way a user runs it: `runbook up --detach` in its own state directory and ports. */
export interface CliStack {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  up(): Promise<CliRun>;
  down(): Promise<CliRun>;
  status(json?: boolean): Promise<CliRun>;
  /** The current stack.json; throws when there is none. */
  info(): StackInfo;
  /** `runbook down`, then SIGKILL for anything recorded that is still ours, then removes the state directory. */
  cleanup(): Promise<void>;
}

/** Every pid stack.json names (supervisor and components) that is still the process it recorded. */
export function liveRecordedPids(info: StackInfo): number[] {
  const recorded = [
    { pid: info.supervisorPid, startTime: info.supervisorStartTime },
    ...Object.values(info.components).map((c) => ({ pid: c.pid, startTime: c.startTime })),
  ];
  return recorded.filter((r) => isSameProcess(r.pid, r.startTime)).map((r) => r.pid);
}

/**
 * Prepares (does not start) a CLI stack on free loopback ports in a fresh
 * temporary directory, with `extraEnv` on top. The environment carries no API
 * token or tokens file of whoever runs the tests: the stack is a new user's.
 */
export async function prepareCliStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<CliStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'runbook-test-cli-'));
  const bundle = process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.stateDir]: stateDir,
    ...(await freeStackPortEnv()),
    ...(bundle ? { [ENV.workflowBundle]: bundle } : {}),
    ...extraEnv,
  };
  delete env[ENV.apiToken];
  delete env[ENV.tokensFile];
  const info = (): StackInfo => {
    const found = readStackFile(stateDir);
    if (!found) throw new Error(`no stack.json in ${stateDir}`);
    return found;
  };
  return {
    stateDir,
    env,
    up: () => runCli(['up', '--detach'], env, 180_000),
    down: () => runCli(['down'], env),
    status: (json = false) => runCli(json ? ['status', '--json'] : ['status'], env),
    info,
    async cleanup() {
      await runCli(['down'], env).catch(() => undefined);
      const left = readStackFile(stateDir);
      for (const pid of left ? liveRecordedPids(left) : []) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone since we looked.
        }
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
