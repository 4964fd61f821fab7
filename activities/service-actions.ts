import { InvalidSpecError } from './adapters/errors';
import { restartService, startService, stopService } from './adapters/process-supervisor';
import { systemctlAction } from './adapters/systemd';
import type { RestartServiceAction, StartServiceAction, StopServiceAction } from '../schemas/runbook';
import { performed, planned, withHeartbeats } from './action-context';
import type { ActionContext } from './action-context';
import { callCommand } from './call-command';
import { callWebhook } from './call-webhook';
import { resolveService } from './service-registry';
import type { ActionResult } from './types';

type ServiceAction = StartServiceAction | StopServiceAction | RestartServiceAction;
type Verb = 'start' | 'stop' | 'restart';

const VERB: Record<ServiceAction['kind'], Verb> = {
  start_service: 'start',
  stop_service: 'stop',
  restart_service: 'restart',
};

async function viaSupervisor(ctx: ActionContext, action: ServiceAction, verb: Verb): Promise<ActionResult> {
  if (!action.supervisor) throw new InvalidSpecError('no supervisor service');
  const { spec, startTimeoutMs, stopGraceMs } = resolveService(ctx.deps.services ?? {}, action.supervisor, ctx.timeoutMs);
  const options = { dryRun: ctx.dryRun, startTimeoutMs, graceMs: stopGraceMs };
  const beat = (): unknown => ({ service: spec.name, verb });
  const base = { service: spec.name };

  if (verb === 'start') {
    const r = await withHeartbeats(beat, () => startService(spec, options));
    if (r.dryRun) return planned(r.plan, { ...base, running: r.running, pid: r.pid });
    const how = r.changed ? `started as pid ${r.pid}` : `already running as pid ${r.pid}`;
    return performed(`${spec.name} ${how}, healthy`, { ...base, pid: r.pid, running: true, healthy: true, changed: r.changed });
  }
  if (verb === 'stop') {
    const r = await withHeartbeats(beat, () => stopService(spec, options));
    if (r.dryRun) return planned(r.plan, { ...base, running: r.running, pid: r.pid });
    const how = r.changed ? `stopped (was pid ${r.pid ?? '?'})` : 'was not running';
    return performed(`${spec.name} ${how}`, { ...base, pid: r.pid, running: false, healthy: false, changed: r.changed });
  }
  const r = await withHeartbeats(beat, () => restartService(spec, options));
  if (r.dryRun) return planned(r.plan, { ...base, running: r.running, pid: r.pid });
  const was = r.previousPid === null ? 'was not running' : `was pid ${r.previousPid}`;
  return performed(`${spec.name} restarted as pid ${r.pid} (${was}), healthy`, {
    ...base,
    pid: r.pid,
    previous_pid: r.previousPid,
    running: true,
    healthy: true,
    changed: true,
  });
}

async function viaSystemd(ctx: ActionContext, unit: string, verb: Verb): Promise<ActionResult> {
  const r = await withHeartbeats(
    () => ({ unit, verb }),
    () =>
      systemctlAction({
        unit,
        action: verb,
        dryRun: ctx.dryRun,
        timeoutMs: ctx.timeoutMs,
        ...(ctx.deps.systemctlPath === undefined ? {} : { systemctlPath: ctx.deps.systemctlPath }),
      }),
  );
  if (r.dryRun) return planned(r.plan, { unit, previous: r.previous });
  const running = r.current === 'active';
  const how = r.changed ? `${r.previous} -> ${r.current}` : `already ${r.current}`;
  return performed(`systemd ${unit}: ${how}`, {
    unit,
    previous: r.previous,
    current: r.current,
    running,
    healthy: running,
    changed: r.changed,
    verified: r.verified,
  });
}

/** Starts, stops or restarts a service through the supervisor registry, systemd, a command or a webhook. */
export async function runServiceAction(ctx: ActionContext, action: ServiceAction): Promise<ActionResult> {
  const verb = VERB[action.kind];
  if (action.supervisor) return viaSupervisor(ctx, action, verb);
  if (action.systemd) return viaSystemd(ctx, action.systemd.unit, verb);
  if (action.command) {
    const command = action.command;
    const r = await withHeartbeats(() => ({ verb }), () => callCommand(ctx, command));
    if (r.dryRun) return planned(r.plan);
    return performed(`${verb} via ${command.argv[0] ?? ''}: exit ${r.output.exit_code}`, { ...r.output, changed: true });
  }
  if (action.webhook) {
    const r = await callWebhook(ctx, action.webhook, action.role === undefined ? {} : { role: action.role });
    if (r.dryRun) return planned(r.plan);
    return performed(`${verb} via webhook: HTTP ${r.status}`, { status: r.status, changed: true });
  }
  throw new InvalidSpecError(`${action.kind} needs one of supervisor, systemd, command or webhook`);
}
