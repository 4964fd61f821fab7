import { condition } from '@temporalio/workflow';
import { parseDuration } from '../engine/duration';
import type { ConfirmAction } from '../schemas/runbook';
import { probeProfile } from './activity-profiles';

/** How confirmation ended. */
export interface ConfirmOutcome {
  verdict: 'confirmed' | 'healthy' | 'recovered';
  failures: number;
  successes: number;
  samples: number;
}

/**
 * Probes the target `samples` times, `interval` apart. The fault is confirmed
 * once `quorum` probes failed; it is healthy once `recover_after` probes in a
 * row succeeded or the quorum can no longer be reached. A resolved signal
 * from the monitor (checked between samples) ends it as recovered.
 */
export async function confirmFault(action: ConfirmAction, allowedExecutables: string[], resolved: () => boolean): Promise<ConfirmOutcome> {
  const timeoutMs = parseDuration(action.timeout);
  const intervalMs = parseDuration(action.interval);
  const acts = probeProfile(timeoutMs);
  let failures = 0;
  let successes = 0;
  let okInRow = 0;
  for (let i = 0; i < action.samples; i++) {
    if (resolved()) return { verdict: 'recovered', failures, successes, samples: i };
    const probe = await acts.probeOnce({ target: action.target, timeoutMs, allowedExecutables });
    if (probe.ok) {
      successes += 1;
      okInRow += 1;
    } else {
      failures += 1;
      okInRow = 0;
    }
    const taken = i + 1;
    if (failures >= action.quorum) return { verdict: 'confirmed', failures, successes, samples: taken };
    if (action.recover_after !== undefined && okInRow >= action.recover_after) return { verdict: 'healthy', failures, successes, samples: taken };
    if (failures + (action.samples - taken) < action.quorum) return { verdict: 'healthy', failures, successes, samples: taken };
    if (taken < action.samples && (await condition(resolved, intervalMs))) {
      return { verdict: 'recovered', failures, successes, samples: taken };
    }
  }
  return { verdict: failures >= action.quorum ? 'confirmed' : 'healthy', failures, successes, samples: action.samples };
}
