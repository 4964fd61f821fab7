import { sleep } from '@temporalio/workflow';
import { parseDuration } from '../engine/duration';
import type { DrillReport } from '../schemas/drill-report';
import type { Action, DrillSpec, Step } from '../schemas/runbook';
import { probeProfile } from './activity-profiles';
import { runActionWithRetry } from './step-retry';

/*
 * The drill's own actions around the incident: the fault as a one-attempt
 * step, the steady-state checks, and the restore that runs whatever the
 * incident did.
 */

/** A step for an action the drill itself runs (the fault): one attempt, no approval (the drill's approval covers it). */
export function drillStep(id: string, action: Action, timeout = '60s'): Step {
  return { id, action, retry: { max_attempts: 1, initial_interval: '1s', backoff: 2, max_interval: '30s' }, timeout, on_failure: 'abort', approval: false };
}

/** The drill's steady-state checks, each probed once. */
export async function steadyState(spec: DrillSpec, allowed: string[]): Promise<DrillReport['restored']['checks']> {
  const out: DrillReport['restored']['checks'] = [];
  for (const target of spec.steady_state) {
    const outcome = await probeProfile(5_000).probeOnce({ target, timeoutMs: 5_000, allowedExecutables: allowed });
    out.push({ target: describeTarget(target), ok: outcome.ok, detail: outcome.detail });
  }
  return out;
}

function describeTarget(target: DrillSpec['steady_state'][number]): string {
  if (target.http) return `http ${target.http.url}`;
  if (target.tcp) return `tcp ${target.tcp.host}:${target.tcp.port}`;
  if (target.data) return `data ${target.data.path}`;
  return `command ${target.command?.argv[0] ?? '?'}`;
}

/** Runs every restore step (a failed one does not stop the rest), then the steady-state checks. */
export async function restore(spec: DrillSpec, allowed: string[], dryRun: boolean, drillId: string, now: () => string): Promise<DrillReport['restored']> {
  const steps: DrillReport['restored']['steps'] = [];
  for (const step of spec.restore) {
    if (step.action.kind === 'wait') {
      // A pause between restore steps (letting a restarted service settle) is the workflow's own timer.
      if (!dryRun) await sleep(parseDuration(step.action.duration));
      steps.push({ id: step.id, status: 'succeeded', summary: `waited ${step.action.duration}` });
      continue;
    }
    const outcome = await runActionWithRetry({ incidentId: drillId, step, action: step.action, dryRun, allowedExecutables: allowed, epoch: 0, now, attempts: [] });
    steps.push(outcome.ok ? { id: step.id, status: 'succeeded', summary: outcome.result.summary } : { id: step.id, status: 'failed', error: outcome.failure.message });
  }
  const checks = dryRun ? [] : await steadyState(spec, allowed);
  return { ok: steps.every((s) => s.status === 'succeeded') && checks.every((c) => c.ok), steps, checks };
}

