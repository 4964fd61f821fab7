import { readdir, rm, stat } from 'node:fs/promises';
import { CommandFailedError } from './adapters/errors';
import { signalService } from './adapters/process-supervisor';
import { runProcess } from './adapters/process-runner';
import type { BlockPortAction, DeleteDataAction, KillProcessAction, UnblockPortAction } from '../schemas/fault-injection';
import { performed, planned, type ActionContext } from './action-context';
import { resolveService } from './service-registry';
import type { ActionResult } from './types';

/*
 * The faults a drill injects. Each refuses to pretend: a service that is
 * not running cannot be killed, and a dry run says what it would break.
 * Each output's `at` is when the fault took effect: a drill measures from it.
 */

type PortAction = BlockPortAction | UnblockPortAction;

/** The iptables rule a port block adds, after the verb (`-C`, `-I` or `-D`) and chain. */
export function portRule(action: Pick<PortAction, 'port' | 'protocol'>): string[] {
  const reject = action.protocol === 'tcp' ? ['--reject-with', 'tcp-reset'] : [];
  return ['-p', action.protocol, '--dport', String(action.port), '-m', 'comment', '--comment', `runbook-drill-${action.port}`, '-j', 'REJECT', ...reject];
}

async function iptables(ctx: ActionContext, action: PortAction, verb: '-C' | '-I' | '-D', allowed: readonly number[]): Promise<number> {
  const argv = [action.iptables, verb, 'INPUT', ...portRule(action)];
  const outcome = await runProcess({ argv, timeoutMs: Math.min(ctx.timeoutMs, 15_000), maxOutputBytes: 4_096 });
  if (outcome.exitCode !== null && allowed.includes(outcome.exitCode)) return outcome.exitCode;
  const how = outcome.timedOut ? 'timed out' : outcome.exitCode === null ? `was killed by ${outcome.signal ?? 'a signal'}` : `exited ${outcome.exitCode}`;
  throw new CommandFailedError(`${action.iptables} ${verb} ${how}: ${outcome.stderr.trim().slice(0, 300)}`, { exitCode: outcome.exitCode, signal: outcome.signal, stdout: outcome.stdout, stderr: outcome.stderr });
}

async function runPortAction(ctx: ActionContext, action: PortAction): Promise<ActionResult> {
  const rule = `${action.protocol}/${action.port}`;
  const argv = (verb: string): string => [action.iptables, verb, 'INPUT', ...portRule(action)].join(' ');
  if (ctx.dryRun) return planned(action.kind === 'block_port' ? `reject new connections to ${rule}: ${argv('-I')}` : `remove the rule rejecting ${rule}: ${argv('-D')}`, { port: action.port });
  // -C exits 0 when the rule is there, 1 when it is not; anything else (no permission, no iptables) is a failure.
  const present = (await iptables(ctx, action, '-C', [0, 1])) === 0;
  if (action.kind === 'block_port') {
    if (present) return performed(`${rule} was already blocked`, { port: action.port, changed: false });
    await iptables(ctx, action, '-I', [0]);
    return performed(`new connections to ${rule} are rejected`, { port: action.port, changed: true, at: new Date().toISOString() });
  }
  if (!present) return performed(`${rule} was not blocked`, { port: action.port, changed: false });
  await iptables(ctx, action, '-D', [0]);
  return performed(`${rule} is open again`, { port: action.port, changed: true });
}

async function runKillProcess(ctx: ActionContext, action: KillProcessAction): Promise<ActionResult> {
  const { spec } = resolveService(ctx.deps.services ?? {}, { service: action.supervisor.service }, ctx.timeoutMs);
  const r = await signalService(spec, action.signal, ctx.dryRun);
  if (r.dryRun) return planned(r.plan, { service: spec.name, pid: r.pid });
  return performed(`${action.signal} sent to ${spec.name} (pid ${r.pid})`, { service: spec.name, pid: r.pid, signal: action.signal, at: new Date().toISOString() });
}

async function runDeleteData(ctx: ActionContext, action: DeleteDataAction): Promise<ActionResult> {
  const exists = await stat(action.path).then((s) => s.isDirectory(), () => false);
  const entries = exists ? (await readdir(action.path)).length : 0;
  if (ctx.dryRun) return planned(exists ? `delete ${action.path} and the ${entries} entries in it` : `${action.path} does not exist; nothing to delete`, { path: action.path, entries });
  await rm(action.path, { recursive: true, force: true });
  return performed(exists ? `deleted ${action.path} (${entries} entries)` : `${action.path} did not exist`, { path: action.path, entries, changed: exists, at: new Date().toISOString() });
}

/** Performs (or plans) one fault-injection action. */
export function runFaultAction(ctx: ActionContext, action: KillProcessAction | PortAction | DeleteDataAction): Promise<ActionResult> {
  switch (action.kind) {
    case 'kill_process':
      return runKillProcess(ctx, action);
    case 'block_port':
    case 'unblock_port':
      return runPortAction(ctx, action);
    case 'delete_data':
      return runDeleteData(ctx, action);
  }
}
