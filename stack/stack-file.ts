import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** Where a component of the stack is in its life, as its supervisor sees it. */
export const ComponentState = z.enum(['starting', 'running', 'restarting', 'failed']);
export type ComponentState = z.infer<typeof ComponentState>;

/** How a component's process last ended. */
export const ComponentExit = z.object({
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
});
export type ComponentExit = z.infer<typeof ComponentExit>;

/** How `runbook status` checks a component the stack recorded with its check (the cluster's components). */
export const HealthCheck = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('http'), url: z.string() }),
  z.object({ kind: z.literal('temporal'), address: z.string() }),
  z.object({ kind: z.literal('nats'), url: z.string(), monitorPort: z.number().int() }),
  z.object({ kind: z.literal('postgres'), port: z.number().int() }),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;

/** One component: its current process and its restart record. */
export const ComponentRecord = z.object({
  pid: z.number().int(),
  /** Start time of that pid (see processStartTime), so a reused pid is never taken for ours. */
  startTime: z.string().optional(),
  logFile: z.string(),
  state: ComponentState.default('running'),
  /** Restarts since `runbook up` started the stack. */
  restarts: z.number().int().nonnegative().default(0),
  lastExit: ComponentExit.optional(),
  /** The port it serves on, when the stack recorded one. */
  port: z.number().int().optional(),
  /** How to check it; without one the component's name says (the embedded stack's fixed set). */
  health: HealthCheck.optional(),
});
export type ComponentRecord = z.infer<typeof ComponentRecord>;

/** What a running local stack publishes about itself in `<stateDir>/stack.json`. */
export const StackInfo = z.object({
  /** pid of the `runbook up` supervisor that owns the stack. */
  supervisorPid: z.number().int(),
  supervisorStartTime: z.string().optional(),
  /** `cluster` for `runbook up --cluster`; absent for the embedded stack (`runbook up`). */
  kind: z.literal('cluster').optional(),
  ready: z.boolean(),
  startedAt: z.string(),
  stateDir: z.string(),
  namespace: z.string(),
  taskQueue: z.string(),
  temporalAddress: z.string(),
  temporalUiUrl: z.string().optional(),
  /** host:port of the frontend's HTTP API, which the CLI's reads use; absent in a stack started before it was recorded. */
  temporalHttpAddress: z.string().optional(),
  natsUrl: z.string(),
  /** Every server of the NATS tier, when there may be more than one (the cluster stack). */
  natsUrls: z.array(z.string()).optional(),
  natsMonitorUrl: z.string(),
  intakeUrl: z.string(),
  /** File holding the bearer token the Alertmanager receiver takes, when it is one. */
  intakeWebhookTokenFile: z.string().optional(),
  workerUrl: z.string(),
  /** The roster the worker and API check decisions against. */
  rosterFile: z.string().optional(),
  /** The local operator's approval API token file, when the stack made one. */
  operatorTokenFile: z.string().optional(),
  ports: z.record(z.string(), z.number().int()),
  components: z.record(z.string(), ComponentRecord),
});
export type StackInfo = z.infer<typeof StackInfo>;

/** Path of the stack file in a state directory. */
export function stackFilePath(stateDir: string): string {
  return join(stateDir, 'stack.json');
}

/** Writes the stack file atomically so readers never see half of it. */
export function writeStackFile(info: StackInfo): void {
  const path = stackFilePath(info.stateDir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** The stack file, or undefined when no stack has run in this state directory. */
export function readStackFile(stateDir: string): StackInfo | undefined {
  const path = stackFilePath(stateDir);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = StackInfo.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
