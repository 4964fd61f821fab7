import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { listScheduleViews, type ScheduleView } from '../incidents/schedule-view';
import { ErrorBody, GUARD_REPLIES } from './api-schemas';
import { ScheduleListBody, type ScheduleBody } from './console-data-schemas';

/** What the schedule routes need. */
export interface ScheduleRouteOptions {
  client: Client;
}

/** A schedule as GET /schedules answers it: the CLI's view with its next and last run picked out. */
export function scheduleBody(v: ScheduleView): z.infer<typeof ScheduleBody> {
  const last = v.recentRuns.at(-1);
  return {
    ...v,
    ...(v.nextRuns[0] !== undefined ? { nextRun: v.nextRuns[0] } : {}),
    ...(last ? { lastRun: { at: last.takenAt, workflowId: last.launcherId, ...(last.incidentId !== undefined ? { incidentId: last.incidentId } : {}) } } : {}),
  };
}

/** `GET /schedules`: the Temporal Schedules that run runbooks, as `runbook schedule list` shows them. */
export function registerScheduleRoutes(scope: FastifyInstance, opts: ScheduleRouteOptions): void {
  const app = scope.withTypeProvider<ZodTypeProvider>();
  app.get('/schedules', {
    schema: { summary: 'List the runbook schedules', response: { 200: ScheduleListBody, 503: ErrorBody, ...GUARD_REPLIES } },
  }, async (_req, reply) => {
    try {
      return { schedules: (await listScheduleViews(opts.client)).map(scheduleBody) };
    } catch (err) {
      return reply.code(503).send({ error: `cannot list the schedules: ${(err as Error).message}` });
    }
  });
}
