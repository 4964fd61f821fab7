import { dependsOnIsolation } from '../engine/fencing';
import type { Step } from '../schemas/runbook';

/**
 * Which isolations of one incident are in force. An `isolation: provides`
 * step puts its isolation in force when it succeeds; compensating it (or
 * trying to) withdraws it for good. A step that depends on isolation (see
 * `dependsOnIsolation`) must not start unless every earlier isolation is still
 * in force: copying data or promoting a standby while the old primary may be
 * back in rotation is the split brain fencing exists to prevent.
 */
export class IsolationsInForce {
  private readonly isolations = new Map<string, 'in_force' | 'withdrawn'>();

  /** The isolation of `stepId` succeeded. */
  established(stepId: string): void {
    this.isolations.set(stepId, 'in_force');
  }

  /** The isolation of `stepId` was compensated; its state is no longer known to hold, even if the undo failed. */
  withdrawn(stepId: string): void {
    if (this.isolations.has(stepId)) this.isolations.set(stepId, 'withdrawn');
  }

  /**
   * Rebuilds the picture in a run continued as new, from the carried step
   * records and compensations: a succeeded isolation is in force unless a
   * compensation for it ran (or was tried).
   */
  resume(steps: readonly Step[], records: readonly { id: string; status: string }[], compensations: readonly { forStep: string }[]): void {
    for (const step of steps) {
      if (step.isolation !== 'provides') continue;
      const status = records.find((r) => r.id === step.id)?.status;
      if (status === 'succeeded' || status === 'compensated') this.established(step.id);
    }
    for (const c of compensations) this.withdrawn(c.forStep);
  }

  /** Why step `index` must not start now, or undefined when it may. */
  refusal(steps: readonly Step[], index: number): string | undefined {
    const step = steps[index];
    if (!step || !dependsOnIsolation(steps, index)) return undefined;
    for (const earlier of steps.slice(0, index)) {
      if (earlier.isolation !== 'provides') continue;
      const held = this.isolations.get(earlier.id);
      if (held === 'in_force') continue;
      const why = held === 'withdrawn' ? 'was compensated' : 'was never established';
      return `isolation not in force: ${step.id} requires the isolation of ${earlier.id}, which ${why}`;
    }
    return undefined;
  }
}
