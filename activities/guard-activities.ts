import type { Client } from '@temporalio/client';
import type { KV } from 'nats';
import type { LeaseDecision, LeaseRequest } from '../schemas/isolation-lease';
import { acquireIsolation, guardIdFor, releaseIsolation, SERVICE_GUARD_WORKFLOW } from '../workflows/messages';
import { PAUSE_KEY } from '../schemas/control-bucket';
import type { PauseState } from './types';

/** What the guard activities need. */
export interface GuardDeps {
  client: Client;
  taskQueue: string;
  /** The control bucket; absent means never paused. */
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

    /** Incidents of this target started within the window, this one included. */
    async recentIncidentCount(incidentId: string, windowMs: number): Promise<number> {
      const since = new Date(Date.now() - windowMs).toISOString();
      const query = `WorkflowId = '${incidentId.replace(/'/g, '')}' AND StartTime >= '${since}'`;
      let n = 0;
      for await (const _ of deps.client.workflow.list({ query })) n += 1;
      return n;
    },

    /** Whether an operator paused all remediation (`runbook pause`). */
    remediationPaused: (): Promise<PauseState> => readPauseSwitch(deps.control),
  };
}

/** The pause switch in the control bucket; no bucket or no key means not paused. */
export async function readPauseSwitch(control: GuardDeps['control']): Promise<PauseState> {
  const kv = await control?.();
  const entry = await kv?.get(PAUSE_KEY);
  if (!entry || entry.operation !== 'PUT' || entry.length === 0) return { paused: false };
  const value = entry.json<PauseState>();
  return value.paused ? value : { paused: false };
}

/** Guard activities as workflows see them. */
export type GuardActivities = ReturnType<typeof createGuardActivities>;
