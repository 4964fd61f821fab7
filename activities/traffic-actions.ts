import { countActiveServers, getServerState, setServerState, waitServerUp } from './adapters/haproxy';
import type { AdminState } from './adapters/haproxy';
import { InvalidSpecError, VerificationFailedError } from './adapters/errors';
import type { HaproxyIsolate, HaproxyRestore, IsolateAction, RestoreAction } from '../schemas/runbook';
import { LastActiveServerError } from './action-errors';
import { performed, planned, withHeartbeats } from './action-context';
import type { ActionContext } from './action-context';
import { callCommand } from './call-command';
import { callWebhook } from './call-webhook';
import type { ActionResult } from './types';

/**
 * Refuses to take out a server that is the only one of its backend taking
 * traffic. A server already out (or down) changes nothing, so a retried
 * isolation passes.
 */
async function refuseLastActive(h: HaproxyIsolate): Promise<void> {
  const current = await getServerState(h);
  if (current.admin !== 'ready' || current.operational !== 'up') return;
  const active = await countActiveServers(h);
  if (active <= 1) {
    throw new LastActiveServerError(
      `refusing to put ${h.backend}/${h.server} in ${h.state}: it is the last server of ${h.backend} taking traffic`,
    );
  }
}

/**
 * Sets the server's state. Without `verify` a read-back that does not show
 * the state yet is reported as `verified: false` instead of failing.
 */
async function setState(ctx: ActionContext, h: HaproxyIsolate | HaproxyRestore, state: AdminState): Promise<ActionResult> {
  const target = { socket: h.socket, backend: h.backend, server: h.server };
  const name = `${h.backend}/${h.server}`;
  // Without verify the adapter's read-back may give up before HAProxy shows the change, so read `previous` first.
  const before = h.verify ? undefined : (await getServerState(target)).admin;
  let result;
  try {
    result = await setServerState({ ...target, state, dryRun: ctx.dryRun, ...(h.verify ? {} : { verifyTimeoutMs: 1 }) });
  } catch (err) {
    if (h.verify || !(err instanceof VerificationFailedError)) throw err;
    const current = (await getServerState(target)).admin;
    return performed(`set ${name} to ${state}; reads back ${current} (not verified)`, {
      backend: h.backend,
      server: h.server,
      previous: before,
      current,
      changed: true,
      verified: false,
    });
  }
  if (result.dryRun) {
    return planned(result.plan, { backend: h.backend, server: h.server, previous: result.previous, would_change: result.wouldChange });
  }
  const how = result.changed ? `${result.previous} -> ${result.current}` : `already ${result.current}`;
  return performed(`${name}: ${how}${result.verified ? ', verified' : ''}`, {
    backend: h.backend,
    server: h.server,
    previous: result.previous,
    current: result.current,
    changed: result.changed,
    verified: result.verified,
  });
}

/** Runs an isolate or restore through a webhook or command: the change cannot be read back. */
async function viaWebhookOrCommand(ctx: ActionContext, action: IsolateAction | RestoreAction): Promise<ActionResult> {
  if (action.webhook) {
    const r = await callWebhook(ctx, action.webhook);
    if (r.dryRun) return planned(r.plan);
    return performed(`${action.kind} via webhook: HTTP ${r.status}`, { status: r.status, changed: true, verified: false });
  }
  if (action.command) {
    const r = await callCommand(ctx, action.command);
    if (r.dryRun) return planned(r.plan);
    return performed(`${action.kind} via ${action.command.argv[0] ?? ''}: exit ${r.output.exit_code}`, {
      ...r.output,
      changed: true,
      verified: false,
    });
  }
  throw new InvalidSpecError(`${action.kind} needs one of haproxy, webhook or command`);
}

/** Takes a server out of rotation; refuses when it is the last one taking traffic. */
export async function runIsolate(ctx: ActionContext, action: IsolateAction): Promise<ActionResult> {
  if (!action.haproxy) return viaWebhookOrCommand(ctx, action);
  await refuseLastActive(action.haproxy);
  return setState(ctx, action.haproxy, action.haproxy.state);
}

/**
 * Moves a server in maintenance to drain and waits until HAProxy's checks see
 * it up: it takes no new requests meanwhile, so none reach an instance that
 * is not answering yet. A server not in maintenance is left as it is.
 */
async function warmUpInDrain(ctx: ActionContext, h: HaproxyRestore): Promise<Record<string, unknown>> {
  const target = { socket: h.socket, backend: h.backend, server: h.server };
  const before = await getServerState(target);
  if (before.admin !== 'maint') return { via_drain: false };
  const startedAt = Date.now();
  await setServerState({ ...target, state: 'drain', dryRun: false });
  const up = await withHeartbeats(
    () => ({ server: `${h.backend}/${h.server}`, waiting: 'health checks in drain' }),
    () => waitServerUp(target, ctx.timeoutMs),
  );
  return { via_drain: true, checked_up_ms: Date.now() - startedAt, operational: up.operational };
}

/** Puts a server (back) in rotation; with `via_drain`, only once its health checks pass in drain. */
export async function runRestore(ctx: ActionContext, action: RestoreAction): Promise<ActionResult> {
  if (!action.haproxy) return viaWebhookOrCommand(ctx, action);
  const h = action.haproxy;
  if (!h.via_drain || ctx.dryRun) {
    const result = await setState(ctx, h, h.state);
    if (!h.via_drain || !result.dryRun) return result;
    return { ...result, plan: `${result.plan ?? ''} (through drain: ready once health checks pass)` };
  }
  const warm = await warmUpInDrain(ctx, h);
  const result = await setState(ctx, h, h.state);
  const summary = warm.via_drain ? `${result.summary} (through drain; checks up after ${String(warm.checked_up_ms)} ms)` : result.summary;
  return { ...result, summary, output: { ...result.output, ...warm, ...(warm.via_drain ? { previous: 'maint' } : {}) } };
}
