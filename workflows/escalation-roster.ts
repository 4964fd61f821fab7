import { patched, proxyActivities } from '@temporalio/workflow';
import type { ApprovalActivities } from '../activities/notify-approvals';
import { escalationGroups } from '../engine/approval-rules';
import type { EscalationSettings } from '../schemas/runbook';

/*
 * Who may decide an escalation (patch 'escalation-roster'). Before it, an
 * escalation named nobody and any token holder's retry, skip or abort
 * counted. Now each request names the runbook's escalation groups (default
 * on-call) and, when a roster is configured, their members, which the gate
 * then holds decisions to; each request sent again unanswered adds the
 * roster's escalation chain.
 */

/** Roster look-ups: quick and retried, as an approval gate's. */
const approvalActivities = proxyActivities<ApprovalActivities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '10s' } });

/** What an escalation request records about who may decide it. */
export interface EscalationAsked {
  approvers: string[];
  /** Absent when no roster is configured (membership is then not checked). */
  eligible?: string[];
}

/** Who may decide one escalation's requests. */
export interface EscalationRoster {
  /** Who the `round`-th request (0 = the first) asks, read from the roster as it opens. */
  asked(round: number): Promise<EscalationAsked>;
}

/** The roster of an escalation opened now, or undefined for incidents that escalated without one (replayed as they ran). */
export function escalationRoster(settings: Pick<EscalationSettings, 'approvers'> | undefined): EscalationRoster | undefined {
  if (!patched('escalation-roster')) return undefined;
  const groups = escalationGroups(settings);
  return {
    async asked(round) {
      try {
        const who = await approvalActivities.resolveEscalation({ groups, round });
        return { approvers: who.approvers, ...(who.configured ? { eligible: who.members } : {}) };
      } catch {
        // A roster that cannot be read names nobody: the escalation times out as the runbook says, never open to anyone.
        return { approvers: groups, eligible: [] };
      }
    },
  };
}
