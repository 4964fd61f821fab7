import { CancellationScope, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { parseDuration } from '../engine/duration';
import type { PauseState } from '../schemas/action-result';
import type { Runbook, Step } from '../schemas/runbook';
import { guardProfile } from './activity-profiles';
import { approvalGate } from './approval-gate';
import { guardOverrideApproval } from '../engine/approval-rules';
import type { IncidentContext } from './incident-context';
import { PAUSE_RECHECK_MS } from './step-retry';

/**
 * Checks that must pass before a remediation step starts: the operator's
 * pause switch, flapping (once per incident) and, for isolation, the
 * service's blast-radius budget. Over a limit, a human decides.
 */
export class RemediationGuards {
  private readonly activities = guardProfile();
  private leaseHeld = false;
  /** Set (with the `lease-finally` patch) from the moment a lease is asked for until it is given back: the guard may have granted it even if the answer never arrived. */
  private leaseAsked = false;
  private flapChecked = false;
  /** The flap approval is still being waited for (continue-as-new must ask again for it, not skip it). */
  private flapPending = false;

  constructor(private readonly ctx: IncidentContext) {
    const carried = ctx.flags.rolls ? ctx.input.carried : undefined;
    if (carried) {
      this.leaseHeld = carried.leaseHeld;
      this.flapChecked = carried.flapChecked;
    }
  }

  /** What the next run must know when the incident continues as new. */
  carried(): { leaseHeld: boolean; flapChecked: boolean } {
    return { leaseHeld: this.leaseHeld, flapChecked: this.flapChecked && !this.flapPending };
  }

  /** Returns 'go', or why the step must not run. */
  async beforeRemediation(step: Step, settings: Runbook['settings']): Promise<string> {
    await this.holdWhilePaused();
    const flapping = await this.checkFlapping(step, settings);
    if (flapping !== 'go') return flapping;
    return this.acquireLease(step, settings);
  }

  /**
   * Marks the incident as held by the pause switch (called each time a check
   * or an action found remediation paused); the audit is written before the
   * incident waits.
   */
  readonly heldByPause = (pause: PauseState): void => {
    const { state } = this.ctx;
    if (this.ctx.flags.lean) this.ctx.audit.writeNow();
    state.pausedSince ??= this.ctx.now();
    state.pausedReason = pause.reason ?? 'remediation paused';
  };

  /** Clears the pause marks once remediation goes on. */
  resumed(): void {
    this.ctx.state.pausedSince = undefined;
    this.ctx.state.pausedReason = undefined;
  }

  /** Gives the service's isolation lease back, if this incident holds one. */
  async releaseLease(): Promise<void> {
    if (!this.leaseHeld) return;
    await this.activities.releaseIsolationLease(this.ctx.state.service, this.ctx.input.incidentId);
    this.leaseHeld = false;
    this.leaseAsked = false;
  }

  /**
   * Runs the incident's work and gives the lease back however it ends: a
   * normal return, a thrown failure or a cancellation. The release runs in a
   * non-cancellable scope so a cancelled incident still sends it. (A
   * terminated incident runs no code; the guard reclaims its lease.)
   */
  async releasingLease<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      if (this.leaseAsked) {
        await CancellationScope.nonCancellable(async () => {
          await this.activities.releaseIsolationLease(this.ctx.state.service, this.ctx.input.incidentId);
          this.leaseHeld = false;
          this.leaseAsked = false;
        });
      }
    }
  }

  private async holdWhilePaused(): Promise<void> {
    // Lean steps leave the pause check to the action itself (holdWhilePaused), saving a round trip per step.
    for (let paused = this.ctx.flags.lean ? { paused: false } : await this.activities.remediationPaused(); paused.paused; paused = await this.activities.remediationPaused()) {
      this.heldByPause(paused);
      await sleep(PAUSE_RECHECK_MS);
    }
    this.resumed();
  }

  private async checkFlapping(step: Step, settings: Runbook['settings']): Promise<string> {
    if (!settings?.flap || this.flapChecked) return 'go';
    this.flapChecked = true;
    const { state } = this.ctx;
    const count = await this.activities.recentIncidentCount(this.ctx.input.incidentId, parseDuration(settings.flap.window));
    if (count < settings.flap.max_incidents) return 'go';
    const reason = `flapping: ${count} incidents for ${state.target} within ${settings.flap.window} (limit ${settings.flap.max_incidents})`;
    state.lastError = reason;
    this.flapPending = true;
    const verdict = await approvalGate(this.ctx, step, guardOverrideApproval(), reason, this.ctx.flags.verdictsFit ? 'flap' : 'approval');
    this.flapPending = false;
    return verdict === 'approve' ? 'go' : `flapping: approval ${verdict}`;
  }

  private async acquireLease(step: Step, settings: Runbook['settings']): Promise<string> {
    if (step.action.kind !== 'isolate' || !settings?.blast_radius || this.leaseHeld) return 'go';
    const { state } = this.ctx;
    const req = { incidentId: this.ctx.input.incidentId, target: state.target, maxIsolated: settings.blast_radius.max_isolated, maxPerHour: settings.blast_radius.max_per_hour, runId: workflowInfo().runId };
    // Incidents that asked for a lease before it was released on every ending replay without the final release.
    if (patched('lease-finally')) this.leaseAsked = true;
    let lease = await this.activities.acquireIsolationLease(state.service, req);
    if (!lease.granted) {
      const reason = `over blast-radius budget: ${lease.reason}; isolated now: ${lease.isolatedNow.join(', ') || 'none'}`;
      const verdict = await approvalGate(this.ctx, step, guardOverrideApproval(), reason, this.ctx.flags.verdictsFit ? 'budget' : 'approval');
      if (verdict !== 'approve') return `blast radius: approval ${verdict}`;
      lease = await this.activities.acquireIsolationLease(state.service, { ...req, force: true });
    }
    this.leaseHeld = lease.granted;
    return 'go';
  }
}
