import type { Client } from '@temporalio/client';
import type { KV } from 'nats';
import type { LeaseDecision, LeaseHolderRef, LeaseRequest } from '../schemas/isolation-lease';
import { acquireIsolation, guardIdFor, releaseIsolation, SERVICE_GUARD_WORKFLOW } from '../workflows/messages';
import { CONTROL_BUCKET, PAUSE_KEY } from '../schemas/control-bucket';
import type { PauseState } from './types';

/** What the guard activities need. */
export interface GuardDeps {
  client: Client;
  taskQueue: string;
  /**
   * Opens (or returns the open) control bucket; resolves undefined while it
   * cannot be reached. Leaving it out wires a worker deliberately without a
   * pause switch: never paused.
   */
  control?: () => Promise<KV | undefined>;
}

/** Activities that coordinate incidents with each other: blast radius, flapping, global pause. */
export function createGuardActivities(deps: GuardDeps) {
  return {
    /** Asks the service's guard for an isolation lease (starting the guard if needed). */
    async acquireIsolationLease(service: string, req: LeaseRequest): Promise<LeaseDecision> {
      const handle = await deps.client.workflow.start(SERVICE_GUARD_WORKFLOW, {
        workflowId: guardIdFor(service),
        taskQueue: deps.taskQueue,
        args: [],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      return handle.executeUpdate(acquireIsolation, { args: [req] });
    },

    /** Gives the lease back; a guard that is gone holds nothing. */
    async releaseIsolationLease(service: string, incidentId: string): Promise<void> {
      try {
        await deps.client.workflow.getHandle(guardIdFor(service)).signal(releaseIsolation, incidentId);
      } catch (err) {
        if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      }
    },

    /**
     * Which of these lease holders still run. The service's guard asks before
     * refusing a lease for budget, so a holder that was terminated (it ran no
     * code to give its lease back) or is otherwise gone no longer counts.
     */
    async holdersStillRunning(holders: LeaseHolderRef[]): Promise<string[]> {
      const running: string[] = [];
      for (const h of holders) {
        try {
          const d = await deps.client.workflow.getHandle(h.incidentId, h.runId).describe();
          if (d.status.name === 'RUNNING') running.push(h.incidentId);
        } catch (err) {
          if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
        }
      }
      return running;
    },

    /** Incidents of this target started within the window, this one included. */
    async recentIncidentCount(incidentId: string, windowMs: number): Promise<number> {
      const since = new Date(Date.now() - windowMs).toISOString();
      const query = `WorkflowId = '${incidentId.replace(/'/g, '')}' AND StartTime >= '${since}'`;
      let n = 0;
      for await (const _ of deps.client.workflow.list({ query })) n += 1;
      return n;
    },

    /** Whether the workflow with this id has a run that is still running (a scheduled run skips a target with an open incident). */
    async incidentRunning(incidentId: string): Promise<boolean> {
      try {
        return (await deps.client.workflow.getHandle(incidentId).describe()).status.name === 'RUNNING';
      } catch (err) {
        if ((err as Error).name === 'WorkflowNotFoundError') return false;
        throw err;
      }
    },

    /** Whether an operator paused all remediation (`runbook pause`). */
    remediationPaused: (): Promise<PauseState> => readPauseSwitch(deps.control),
  };
}

/** Prefix of the reason given when the pause switch could not be read. */
export const PAUSE_UNKNOWN = 'pause state unknown';

/** A hold because nobody can tell whether remediation is paused. */
export function pauseUnknown(why: string): PauseState {
  return { paused: true, reason: `${PAUSE_UNKNOWN}: ${why}` };
}

/**
 * The pause switch in the control bucket. It fails safe: a bucket that
 * cannot be opened or read, or a value that cannot be parsed, holds
 * remediation (paused, with why) until the state is known again. Only a
 * worker wired without a control bucket (`control` left out) is never paused;
 * a missing or deleted key means an operator resumed (or never paused).
 */
export async function readPauseSwitch(control: GuardDeps['control']): Promise<PauseState> {
  if (!control) return { paused: false };
  let kv: KV | undefined;
  try {
    kv = await control();
  } catch (err) {
    return pauseUnknown(`control bucket ${CONTROL_BUCKET} cannot be opened: ${(err as Error).message}`);
  }
  if (!kv) return pauseUnknown(`control bucket ${CONTROL_BUCKET} is not reachable (NATS not connected)`);
  try {
    const entry = await kv.get(PAUSE_KEY);
    if (!entry || entry.operation !== 'PUT' || entry.length === 0) return { paused: false };
    const value = entry.json<PauseState>();
    if (typeof value !== 'object' || value === null || typeof value.paused !== 'boolean') return pauseUnknown(`${PAUSE_KEY} in ${CONTROL_BUCKET} is not a pause state`);
    return value.paused ? value : { paused: false };
  } catch (err) {
    return pauseUnknown(`reading ${PAUSE_KEY} from ${CONTROL_BUCKET} failed: ${(err as Error).message}`);
  }
}

/** Guard activities as workflows see them. */
export type GuardActivities = ReturnType<typeof createGuardActivities>;
