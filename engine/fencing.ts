import type { Runbook, Step } from '../schemas/runbook';

/*
 * The fencing rule: a runbook must take the old primary out of rotation, and
 * know it did, before it copies its data or lets a standby take over. Two
 * nodes serving (or one node's data being copied while it still takes writes)
 * is the failure this prevents.
 */

/** A breach of the fencing rule, located by its path in the runbook. */
export interface FencingIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Why a step must be fenced, or `undefined` when it need not be:
 * every step marked `isolation: requires`, every `sync_data` and `restore_data` step, every
 * `start_service` with `promote: true`, and any
 * other `start_service` that follows an `isolate` step (a standby coming up
 * after isolation is a promotion whether or not it says so).
 */
export function fenceReason(steps: readonly Step[], index: number): string | undefined {
  const step = steps[index];
  if (!step) return undefined;
  if (step.isolation === 'requires') return 'declares isolation: requires';
  const action = step.action;
  if (action.kind === 'sync_data') return 'syncs data';
  if (action.kind === 'restore_data') return 'restores data';
  if (action.kind !== 'start_service') return undefined;
  if (action.promote) return 'promotes a standby (promote: true)';
  if (steps.slice(0, index).some((s) => s.action.kind === 'isolate')) {
    return 'starts a service after an isolate step, which counts as promoting a standby';
  }
  return undefined;
}

/**
 * Whether a step is a fence: an `isolate` step marked `isolation: provides`
 * that always runs (no `when`), stops the run if it fails (`on_failure` is not
 * `continue`), and, for HAProxy, reads the server state back.
 */
export function isFence(step: Step): boolean {
  return (
    step.action.kind === 'isolate' &&
    step.isolation === 'provides' &&
    step.when === undefined &&
    step.on_failure !== 'continue' &&
    (step.action.haproxy === undefined || step.action.haproxy.verify)
  );
}

/**
 * Whether step `index` may only run while the isolation of the earlier
 * `isolation: provides` steps is in force: the steps the fencing rule fences
 * (sync, promote, declared `isolation: requires`), unless opted out with `unfenced`.
 */
export function dependsOnIsolation(steps: readonly Step[], index: number): boolean {
  return fenceReason(steps, index) !== undefined && steps[index]?.unfenced !== true;
}

/** Checks the fencing rule over a validated runbook; an empty list means it holds. */
export function checkFencing(runbook: Pick<Runbook, 'steps'>): FencingIssue[] {
  const issues: FencingIssue[] = [];
  const { steps } = runbook;
  steps.forEach((step, i) => {
    if (step.isolation === 'provides') {
      if (step.when !== undefined) {
        issues.push({
          path: ['steps', i, 'when'],
          message: 'an isolation step must always run: remove when, or drop isolation: provides',
        });
      }
      if (step.on_failure === 'continue') {
        issues.push({
          path: ['steps', i, 'on_failure'],
          message: 'an isolation step must stop the run when it fails: on_failure cannot be continue',
        });
      }
      if (step.action.kind === 'isolate' && step.action.haproxy?.verify === false) {
        issues.push({
          path: ['steps', i, 'action', 'haproxy', 'verify'],
          message: 'an isolation step must read the server state back: verify cannot be false',
        });
      }
    }
    const reason = fenceReason(steps, i);
    if (reason === undefined) {
      if (step.unfenced) {
        issues.push({
          path: ['steps', i, 'unfenced'],
          message: 'unfenced only applies to steps that sync data or start a standby',
        });
      }
      return;
    }
    if (step.unfenced) {
      if (step.isolation === 'requires') {
        issues.push({ path: ['steps', i, 'unfenced'], message: 'a step cannot both require isolation and be unfenced' });
      }
      return;
    }
    if (steps.slice(0, i).some(isFence)) return;
    issues.push({
      path: ['steps', i],
      message:
        `step "${step.id}" ${reason} but no earlier step fences the old primary: ` +
        'add an isolate step with isolation: provides before it, or set unfenced: true',
    });
  });
  return issues;
}
